"""`flm models --live` against the fake server: new IDs, IDs gone, per platform, paged; no network."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from migrate import live
from migrate.catalog import bundled_catalog
from migrate.errors import UserError

REPO = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 12, 3)


def _available(platform: str) -> list[str]:
    catalog = bundled_catalog()
    return [m.id for m in catalog.models if m.stage != "alias" and m.lifecycle(platform).status(TODAY) in ("available", "deprecated")]


def flm_live(url: str, env: dict, *args):
    environment = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_OAUTH_ACCESS_TOKEN")}
    environment.update({"NO_COLOR": "1", "GOOGLE_GEMINI_BASE_URL": url, "GOOGLE_VERTEX_BASE_URL": url, **env})
    return subprocess.run([sys.executable, "-m", "migrate", "models", "--live", "--as-of", str(TODAY), *args],
                          capture_output=True, text=True, cwd=REPO, env=environment, timeout=120)  # fmt: skip


def test_both_platforms_compared_with_new_and_gone_ids(fake_gemini):
    developer = [m for m in _available("developer") if m != "gemini-3.6-flash"] + ["gemini-5-preview", "imagen-9"]
    fake_gemini.set_listed_models("developer", developer)
    fake_gemini.set_listed_models("vertex", _available("vertex"))
    result = flm_live(fake_gemini.url, {"GEMINI_API_KEY": "k", "GOOGLE_OAUTH_ACCESS_TOKEN": "t"}, "--format", "json")
    assert result.returncode == 1, result.stderr  # the data differs from what is served
    document = json.loads(result.stdout)
    assert document["platforms"] == {"developer": {"new": ["gemini-5-preview"], "gone": ["gemini-3.6-flash"]},
                                     "vertex": {"new": [], "gone": []}}  # fmt: skip
    lists = [r for r in fake_gemini.requests if r.verb == "list"]
    assert {r.api for r in lists} == {"developer", "vertex"}
    assert any(r.headers.get("x-goog-api-key") == "k" for r in lists)
    assert any(r.headers.get("authorization") == "Bearer t" for r in lists)


def test_matching_data_exits_0_and_a_platform_without_credentials_is_skipped(fake_gemini):
    fake_gemini.set_listed_models("developer", _available("developer"))
    result = flm_live(fake_gemini.url, {"GEMINI_API_KEY": "k"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Vertex AI: skipped (no GOOGLE_OAUTH_ACCESS_TOKEN)" in result.stdout
    assert "Gemini Developer API: 0 served but not in rules/models.yaml, 0 in the data but not served" in result.stdout


def test_pages_are_followed(fake_gemini):
    ids = [f"gemini-x-{i:03}" for i in range(7)]
    fake_gemini.set_listed_models("vertex", ids)
    with httpx.Client() as client:
        got = live._pages(client, f"{fake_gemini.url}/v1beta1/publishers/google/models", {}, "publisherModels", "models/")
    assert got == frozenset(ids)
    fake_gemini.clear_requests()
    monkey = live.PAGE_SIZE
    try:
        live.PAGE_SIZE = 3
        with httpx.Client() as client:
            assert live._pages(client, f"{fake_gemini.url}/v1beta1/publishers/google/models", {}, "publisherModels", "models/") == frozenset(ids)
    finally:
        live.PAGE_SIZE = monkey
    assert len([r for r in fake_gemini.requests if r.verb == "list"]) == 3


def test_no_credentials_at_all_is_one_line_and_exit_2(fake_gemini):
    result = flm_live(fake_gemini.url, {})
    assert result.returncode == 2
    assert result.stderr.startswith("flm: error: flm models --live needs credentials") and result.stderr.count("\n") == 1


def test_an_http_error_is_one_line(fake_gemini):
    with httpx.Client() as client, pytest.raises(UserError, match=r"models.list at .*: HTTP 404"):
        live._pages(client, f"{fake_gemini.url}/v1beta1/nowhere", {}, "models", "models/")
