"""The swap knows which platform a call site uses and applies that platform's dates (FLM003, FLM005);
capability findings hold for the target and for models that stay (3.7/3.8 Flash reject MINIMAL)."""

import datetime as dt

import pytest

from migrate.catalog import bundled_catalog
from migrate.codemod.engine import migrate_source
from migrate.codemod.run import run_warnings
from migrate.settings import Settings

TODAY = dt.date(2026, 12, 3)
SETTINGS = Settings(as_of=TODAY, select=("FLM0", "FLM1"))

VERTEX = "was retired on Vertex AI on 2026-10-20: calls there fail today"
DEVELOPER = "is routed to 'gemini-3.8-flash' on the Gemini Developer API since 2026-12-01"


def flm003(source: str, settings: Settings = SETTINGS) -> list[str]:
    result = migrate_source(source.encode(), settings)
    return [f.message for f in result.findings if f.rule == "FLM003"]


@pytest.mark.parametrize(
    "client",
    [
        'genai.Client(vertexai=True, project="p", location="global")',
        'genai.Client(http_options={"base_url": "https://us-central1-aiplatform.googleapis.com"})',
    ],
)
def test_a_vertex_client_gets_the_vertex_date(client):
    messages = flm003(f'from google import genai\nc = {client}\nc.models.generate_content(model="gemini-2.5-pro", contents="x")\n')
    assert messages == [f"model 'gemini-2.5-pro' {VERTEX}"]


def test_the_vertex_sdk_and_a_vertex_resource_name_get_the_vertex_date():
    sdk = flm003('from vertexai.generative_models import GenerativeModel\nGenerativeModel("gemini-2.5-pro")\n')
    resource = flm003('from google import genai\ngenai.Client().models.generate_content(model="projects/p/locations/l/publishers/google/models/gemini-2.5-pro", contents="x")\n')
    assert sdk == resource == [f"model 'gemini-2.5-pro' {VERTEX}"]


@pytest.mark.parametrize(
    "source",
    [
        'from google import genai\nc = genai.Client(vertexai=False, api_key="k")\nc.models.generate_content(model="gemini-2.5-pro", contents="x")\n',
        'from google import genai\nfrom google.genai import types\nopts = types.HttpOptions(base_url="https://generativelanguage.googleapis.com")\n'
        'c = genai.Client(http_options=opts)\nc.interactions.create(model="gemini-2.5-pro", input="x")\n',
        'import google.generativeai as g\ng.GenerativeModel("gemini-2.5-pro")\n',
    ],
)
def test_a_developer_api_site_is_routed_to_3_8_flash(source):
    [message] = flm003(source)
    assert message.startswith(f"model 'gemini-2.5-pro' {DEVELOPER}") and "billed at its rates" in message


def test_an_unknown_platform_shows_both_and_says_so():
    [message] = flm003('from google import genai\ngenai.Client().models.generate_content(model="gemini-2.5-pro", contents="x")\n')
    assert DEVELOPER in message and VERTEX in message and "platform is not known" in message


def test_before_the_dates_nothing_is_reported_and_routing_starts_on_its_day():
    source = 'import google.generativeai as g\ng.GenerativeModel("gemini-2.5-pro")\n'
    assert flm003(source, Settings(as_of=dt.date(2026, 11, 30))) == []
    assert len(flm003(source, Settings(as_of=dt.date(2026, 12, 1)))) == 1


def test_a_kept_flash_model_routed_on_the_developer_api():
    [message] = flm003('import google.generativeai as g\ng.GenerativeModel("gemini-3.7-flash")\n')
    assert message == "model 'gemini-3.7-flash' is routed to 'gemini-3.8-flash' on the Gemini Developer API since 2026-10-08: its answers come from that model, billed at its rates"
    assert flm003('import vertexai.generative_models as v\nv.GenerativeModel("gemini-3.5-flash")\n') == []  # still served on Vertex


def test_flm005_names_the_platform_of_the_announced_shutdown():
    warnings = run_warnings(Settings(target="gemini-3.1-flash-lite", as_of=TODAY))
    assert warnings == ["FLM005 target 'gemini-3.1-flash-lite' is announced to shut down on 2027-05-07 on the Gemini Developer API"]
    assert run_warnings(Settings(as_of=TODAY)) == []  # the default target has no announced shutdown
    assert run_warnings(Settings(target="gemini-2.5-flash-lite", as_of=TODAY)) == [
        "FLM005 target 'gemini-2.5-flash-lite' is announced to shut down on 2026-10-20 (already past) on Vertex AI"]  # fmt: skip


CONFIG = 'config=types.GenerateContentConfig(temperature=0.2, thinking_config=types.ThinkingConfig(thinking_level="{level}"))'


def _findings(model: str, level: str, target: str | None = None) -> list[tuple[str, str]]:
    source = ("from google import genai\nfrom google.genai import types\nc = genai.Client(vertexai=False)\n"
              f'c.models.generate_content(model="{model}", contents="x", {CONFIG.format(level=level)})\n')  # fmt: skip
    result = migrate_source(source.encode(), Settings(as_of=TODAY, target=target, select=("FLM1",)))
    return [(f.rule, f.message) for f in result.findings]


@pytest.mark.parametrize("model", ["gemini-3.7-flash", "gemini-3.8-flash"])
def test_minimal_thinking_and_sampling_on_a_kept_3_7_or_3_8_flash(model):
    found = _findings(model, "MINIMAL")
    assert ("FLM101", "thinking_level=MINIMAL is rejected by 'gemini-3.8-flash' (HTTP 400): it takes LOW, MEDIUM, HIGH") in found
    assert ("FLM104", "temperature is ignored by 'gemini-3.8-flash': output will not follow it") in found
    assert not [f for f in _findings(model, "LOW") if f[0] == "FLM101"]


def test_3_6_flash_takes_minimal_but_ignores_sampling():
    assert _findings("gemini-3.6-flash", "MINIMAL") == [("FLM104", "temperature is ignored by 'gemini-3.6-flash': output will not follow it")]


def test_a_target_that_rejects_a_level_is_reported_at_the_swapped_site():
    found = _findings("gemini-4-carbon", "XHIGH", target="gemini-3.1-flash-lite")
    assert ("FLM101", "thinking_level=XHIGH is rejected by 'gemini-3.1-flash-lite' (HTTP 400): it takes MINIMAL, LOW, MEDIUM, HIGH") in found


def test_the_gemini_4_family_and_what_counts_as_pro():
    catalog = bundled_catalog()
    carbon = catalog.model("gemini-4-carbon").capabilities
    assert (carbon.thinking_levels, carbon.thinking_default, carbon.unified_limit, carbon.explicit_cache) == (("LOW", "MEDIUM", "HIGH"), "MEDIUM", True, "unsupported")
    assert carbon.context_window == 1_048_576
    assert catalog.model("gemini-4-neon").capabilities.thinking_default == "HIGH"
    assert catalog.model("gemini-4-argon").capabilities.thinking_default == "MEDIUM"
    assert [m for m in ("gemini-4-argon", "gemini-4-carbon", "gemini-4-neon", "gemini-4-hydrogen") if catalog.should_swap(catalog.model(m))] == [
        "gemini-4-argon", "gemini-4-carbon", "gemini-4-neon"]  # fmt: skip
