"""The rules/ data loads, is consistent, and a broken file fails with one line naming file and key."""

import datetime as dt
import shutil

import pytest

from migrate.catalog import bundled_catalog, load_catalog, rules_dir
from migrate.errors import UserError


def test_bundled_data_is_consistent():
    catalog = bundled_catalog()
    target = catalog.resolve_target(catalog.default_target)
    assert target.family == "flash-lite"
    assert catalog.price(target.id).standard.input > 0
    for model in catalog.models:
        assert model.source.startswith(("http", "third-party")) or model.source
        if model.kind != "text":
            assert not catalog.should_swap(model)
    for required in ("gemini-pro", "gemini-pro-vision", "gemini-1.0-pro", "gemini-1.5-pro-002", "gemini-1.5-pro-latest",
                     "gemini-2.0-flash-001", "gemini-2.5-pro", "gemini-3-pro-preview", "gemini-3.1-pro-preview",
                     "gemini-4-argon", "gemini-2.5-flash-lite", "gemini-3.1-flash-lite", "gemini-3.5-flash-lite"):
        assert catalog.model(required) is not None, required
    assert catalog.should_swap(catalog.model("gemini-4-argon"))
    assert not catalog.should_swap(catalog.model("gemini-2.5-flash"))
    assert {r.tier for r in catalog.rules.values()} <= {"safe", "unsafe", "manual", "report"}


def test_pricing_tiers_dates_and_batch():
    catalog = bundled_catalog()
    pro = catalog.price("gemini-2.5-pro")
    assert pro.rates(200_000, dt.date(2026, 11, 24)).input == 1.25
    assert pro.rates(200_001, dt.date(2026, 11, 24)).input == 2.50  # the whole request moves to the long tier
    assert pro.rates(1_000, dt.date(2026, 11, 24), batch=True).output == 5.0
    argon = catalog.price("gemini-4-argon")
    assert argon.rates(10, dt.date(2026, 11, 30)).input == 2.00
    assert argon.rates(10, dt.date(2026, 12, 1)).input == 4.00
    assert catalog.price("gemini-1.5-pro-002").model == "gemini-1.5-pro"  # found through a variant ID
    with pytest.raises(UserError, match="no price for model 'gemini-3.6-flash'"):
        catalog.price("gemini-3.6-flash")


@pytest.mark.parametrize(
    "file, old, new, message",
    [
        ("models.yaml", "family: pro\n", "family: prp\n", r"models.yaml: models\[0\]\.family: expected one of pro, flash, flash-lite, got 'prp'"),
        ("models.yaml", "    released: 2023-12-13\n", "    released: last year\n", r"models\[0\]\.released: expected an ISO date"),
        ("pricing.yaml", "    input: 0.30\n", "    input: cheap\n", r"pricing.yaml: models.gemini-3.5-flash-lite.input: expected a non-negative number"),
        ("rules.yaml", "    tier: safe\n", "    tier: maybe\n", r"rules.yaml: rules\[0\]\.tier: expected one of safe, unsafe, manual, report"),
        ("models.yaml", "  default_target: gemini-3.1-flash-lite\n", "  default_target: gemini-x\n", r"policy.default_target: expected an ID listed under models"),
        ("pricing.yaml", "as_of: 2026-11-23\n", "as_of: [\n", r"pricing.yaml: line \d+: not valid YAML"),
    ],
)
def test_a_broken_file_names_file_key_and_expectation(tmp_path, file, old, new, message):
    data = tmp_path / "rules"
    shutil.copytree(rules_dir(), data)
    text = (data / file).read_text()
    assert old in text
    (data / file).write_text(text.replace(old, new, 1))
    with pytest.raises(UserError, match=message) as raised:
        load_catalog(data)
    assert "\n" not in str(raised.value)
