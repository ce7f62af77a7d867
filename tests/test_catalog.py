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
        ("models.yaml", "  swap_families: [pro]\n", "  swap_families: [pro]\n  default_target: gemini-x\n", r"policy.default_target: expected an ID listed under models"),
        ("pricing.yaml", "as_of: 2026-12-03\n", "as_of: [\n", r"pricing.yaml: line \d+: not valid YAML"),
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


def test_lifecycle_is_per_platform_with_routing_as_data():
    catalog = bundled_catalog()
    pro = catalog.model("gemini-2.5-pro")
    assert pro.routed_to("developer", dt.date(2026, 11, 30)) is None
    assert pro.routed_to("developer", dt.date(2026, 12, 1)) == "gemini-3.8-flash"
    assert pro.routed_to("vertex", dt.date(2026, 12, 1)) is None
    assert pro.is_shut_down(dt.date(2026, 10, 20), "vertex") and not pro.is_shut_down(dt.date(2026, 10, 20), "developer")
    assert catalog.serving_model("gemini-2.5-flash", "developer", dt.date(2026, 12, 3)) == "gemini-3.5-flash-lite"
    assert catalog.serving_model("gemini-3.5-flash", "developer", dt.date(2026, 10, 8)) == "gemini-3.6-flash"
    assert catalog.serving_model("gemini-3.5-flash", "vertex", dt.date(2026, 12, 3)) == "gemini-3.5-flash"
    assert catalog.model("gemini-3.1-flash-lite").lifecycle("vertex").earliest_shutdown == dt.date(2027, 5, 7)
    for model in catalog.models:  # every entry says where its facts come from and when they were read
        assert model.source and model.as_of is not None, model.id
        for lifecycle in model.lifecycles.values():
            assert lifecycle.source and lifecycle.as_of is not None, (model.id, lifecycle.platform)


def test_the_default_target_is_the_newest_ga_flash_lite_without_an_announced_shutdown():
    catalog = bundled_catalog()
    assert catalog.default_target == "gemini-3.5-flash-lite"
    assert "gemini-3.1-flash-lite (shuts down 2027-05-07 on the Gemini Developer API)" in catalog.default_target_reason
    assert catalog.resolve_target("gemini-3.1-flash-lite").id == "gemini-3.1-flash-lite"  # still fully supported


def test_promotional_prices_are_date_ranges_and_the_price_in_force_says_which():
    catalog = bundled_catalog()
    promo = catalog.price_in_force("gemini-4-carbon", dt.date(2026, 11, 30))
    assert (promo.standard.input, promo.standard.output, promo.end) == (2.00, 10.00, dt.date(2026, 11, 30))
    after = catalog.price_in_force("gemini-4-carbon", dt.date(2026, 12, 1))
    assert (after.standard.input, after.standard.output, after.describe()) == (4.00, 20.00, "from 2026-12-01")
    flash = catalog.price("gemini-3.8-flash")
    assert flash.rates(0, dt.date(2026, 12, 31)).output == 3.75 and flash.rates(0, dt.date(2027, 1, 1)).output == 7.50
    assert flash.in_force(dt.date(2026, 12, 3)).describe() == "until 2026-12-31 (introductory price)"
    assert catalog.price_in_force("gemini-2.5-pro", dt.date(2026, 12, 3)).describe() == "no end date announced"


def test_price_periods_must_follow_each_other(tmp_path):
    data = tmp_path / "rules"
    shutil.copytree(rules_dir(), data)
    path = data / "pricing.yaml"
    path.write_text(path.read_text().replace("      - {from: 2027-01-01}", "      - {from: 2027-01-05}"))
    with pytest.raises(UserError, match=r"models.gemini-3.8-flash.periods\[1\].from: expected the day after the previous period's `until` \(2026-12-31\)"):
        load_catalog(data)


def test_flm_models_shows_the_gemini_4_family_routing_platforms_sources_and_dates():
    import json
    import subprocess
    import sys

    run = lambda *a: subprocess.run([sys.executable, "-m", "migrate", "models", "--as-of", "2026-12-03", *a], capture_output=True, text=True, timeout=120)  # noqa: E731
    document = json.loads(run("--format", "json").stdout)
    models = {m["id"]: m for m in document["models"]}
    assert {"gemini-4-argon", "gemini-4-carbon", "gemini-4-neon", "gemini-4-hydrogen"} <= set(models)
    pro = models["gemini-2.5-pro"]["platforms"]
    assert (pro["developer"]["status"], pro["developer"]["routed_to"], pro["developer"]["routed_since"]) == ("routed", "gemini-3.8-flash", "2026-12-01")
    assert (pro["vertex"]["status"], pro["vertex"]["shutdown"]) == ("shut-down", "2026-10-20")
    assert models["gemini-4-carbon"]["as_of"].startswith("2026-12") and models["gemini-4-carbon"]["source_quality"] == "third-party"
    assert models["gemini-4-carbon"]["price"]["in_force"] == "from 2026-12-01"
    assert document["default_target"] == "gemini-3.5-flash-lite" and "no announced shutdown" in document["default_target_reason"]
    text = run().stdout
    row = next(line for line in text.splitlines() if line.startswith("│ gemini-2.5-pro "))
    assert "routed ->" in row and "shut down" in row and "gemini-4-hydrogen" in text
    assert "default target gemini-3.5-flash-lite: the newest GA Flash-Lite model with no announced shutdown" in text
    assert "gemini-4-neon (as of 2026-12-03) [third-party]: https://docs.cloud.google.com/gemini/enterprise/docs/release-notes" in text
