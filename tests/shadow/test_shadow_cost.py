"""The cost projection of a real run: the price period of the run's date, the served model's rates
for routed calls, and batch rates only in the projection and only for models that have one."""

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from migrate.catalog import bundled_catalog
from migrate.shadow import store
from migrate.shadow.cli import app
from migrate.shadow.cost import Pricer, Usage
from migrate.shadow.session import start
from test_runner import LITE, PRO, options, write_dataset

CAT = bundled_catalog()
FLASH = "gemini-3.8-flash"  # serves gemini-2.5-pro on the Developer API since 2026-12-01; intro price until 2026-12-31
DAY = dt.date(2026, 12, 3)


def invoke(*args):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code in (0, 3, 4), result.output
    return result.output


def test_a_routed_primary_is_priced_as_the_model_that_served_it_and_every_view_says_so(tmp_path, fake_gemini):
    fake_gemini.set_model_version(PRO, FLASH)
    result = start(options(fake_gemini, write_dataset(tmp_path, 4), tmp_path / "run", today=DAY))
    calls = list(store.iter_call_dicts(result.folder))
    primary = [c for c in calls if c["arm"] == "primary"]
    assert primary and {c["priced_as"] for c in primary} == {FLASH}
    for c in primary:
        assert c["cost_usd"] == pytest.approx(Pricer(CAT, [FLASH], today=DAY).cost(FLASH, Usage(**c["usage"])))
        assert c["cost_usd"] != pytest.approx(Pricer(CAT, [PRO], today=DAY).cost(PRO, Usage(**c["usage"])))
    assert all("priced_as" not in c for c in calls if c["arm"] == "candidate")
    pricing = store.read_manifest(result.folder)["pricing"]
    assert pricing["priced_on"] == "2026-12-03" and pricing["models"][FLASH]["period"]["until"] == "2026-12-31"

    summary = json.loads(invoke("summary", str(result.folder), "--format", "json"))
    assert summary["pricing"]["priced_on"] == "2026-12-03"
    assert summary["pricing"]["priced_as"]["primary"][FLASH]["calls"] == len(primary)
    assert any(line.startswith(f"{FLASH}: $0.75 in / $3.75 out per 1M, until 2026-12-31 (introductory price); "
                               "from 2027-01-01 $1.5 / $7.5") for line in summary["pricing"]["periods"])
    text = " ".join(invoke("summary", str(result.folder)).split())
    assert f"primary: {len(primary)} call(s) priced as {FLASH}: served by {FLASH}" in text
    assert "in force on 2026-12-03" in text

    doc = json.loads(invoke("report", str(result.folder), "--format", "json", "--allow-routed"))
    assert doc["cost"]["priced_as"]["primary"][FLASH]["calls"] == len(primary)
    markdown = invoke("report", str(result.folder), "--format", "markdown", "--allow-routed")
    assert f"priced as {FLASH}" in markdown and "prices in force on 2026-12-03" in markdown


def test_batch_pricing_changes_the_projection_not_what_the_calls_cost(tmp_path, fake_gemini):
    dataset = write_dataset(tmp_path, 4)
    standard = start(options(fake_gemini, dataset, tmp_path / "std", today=DAY, volume=1000))
    batch = start(options(fake_gemini, dataset, tmp_path / "batch", today=DAY, volume=1000, batch_pricing=True))
    cost = [sorted(c["cost_usd"] for c in store.iter_call_dicts(run.folder)) for run in (standard, batch)]
    assert cost[0] == pytest.approx(cost[1])  # the shadow's requests are synchronous: standard rates
    s_std = json.loads(invoke("summary", str(standard.folder), "--format", "json"))
    s_batch = json.loads(invoke("summary", str(batch.folder), "--format", "json"))
    keep = {m: 1 - CAT.price(m).batch_discount for m in (PRO, LITE)}
    for arm, model in (("primary", PRO), ("candidate", LITE)):
        key = f"{arm}_usd"
        assert s_batch["cost"]["monthly"][key] == pytest.approx(s_std["cost"]["monthly"][key] * keep[model])
    assert s_batch["cost"]["arms"]["primary"] == s_std["cost"]["arms"]["primary"]
    assert any("batch -50%" in line for line in s_batch["pricing"]["periods"])
