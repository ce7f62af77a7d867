"""`flm models --live`: what models.list serves on each platform, compared with the catalogue.

Fetching is I/O at the edge (httpx, injectable transport); `compare` is pure. A platform without
credentials is skipped and said so. Endpoints and variables follow the SDKs and the shadow backends:
the Developer API with GEMINI_API_KEY / GOOGLE_API_KEY (base URL GOOGLE_GEMINI_BASE_URL), Vertex AI
with GOOGLE_OAUTH_ACCESS_TOKEN (base URL GOOGLE_VERTEX_BASE_URL, project GOOGLE_CLOUD_PROJECT).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping

import httpx

from migrate.catalog import Catalog
from migrate.errors import UserError

DEVELOPER_URL = "https://generativelanguage.googleapis.com"
VERTEX_URL = "https://aiplatform.googleapis.com"
PAGE_SIZE = 1000
MAX_PAGES = 50


@dataclass(frozen=True)
class Listing:
    platform: str
    served: frozenset[str] | None  # None: not fetched
    skipped: str | None = None  # why it was not fetched


@dataclass(frozen=True)
class Difference:
    platform: str
    new: tuple[str, ...]  # served, but not in the catalogue
    gone: tuple[str, ...]  # available per the catalogue, but not served


def _pages(client: httpx.Client, url: str, headers: dict[str, str], key: str, prefix: str) -> frozenset[str]:
    found: set[str] = set()
    token = ""
    for _ in range(MAX_PAGES):
        params = {"pageSize": str(PAGE_SIZE), **({"pageToken": token} if token else {})}
        try:
            response = client.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise UserError(f"models.list at {url}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise UserError(f"models.list at {url}: HTTP {response.status_code}: {response.text[:200]}")
        body = response.json()
        for entry in body.get(key) or []:
            name = str(entry.get("name", ""))
            found.add(name.split(prefix, 1)[1] if prefix in name else name)
        token = body.get("nextPageToken") or ""
        if not token:
            break
    return frozenset(found)


def fetch(client: httpx.Client, env: Mapping[str, str]) -> list[Listing]:
    listings = []
    key = env.get("GEMINI_API_KEY") or env.get("GOOGLE_API_KEY")
    if key:
        base = (env.get("GOOGLE_GEMINI_BASE_URL") or DEVELOPER_URL).rstrip("/")
        served = _pages(client, f"{base}/v1beta/models", {"x-goog-api-key": key}, "models", "models/")
        listings.append(Listing("developer", served))
    else:
        listings.append(Listing("developer", None, "no GEMINI_API_KEY or GOOGLE_API_KEY"))
    token = env.get("GOOGLE_OAUTH_ACCESS_TOKEN")
    if token:
        base = (env.get("GOOGLE_VERTEX_BASE_URL") or VERTEX_URL).rstrip("/")
        headers = {"Authorization": f"Bearer {token}"}
        if env.get("GOOGLE_CLOUD_PROJECT"):
            headers["x-goog-user-project"] = env["GOOGLE_CLOUD_PROJECT"]
        served = _pages(client, f"{base}/v1beta1/publishers/google/models", headers, "publisherModels", "models/")
        listings.append(Listing("vertex", served))
    else:
        listings.append(Listing("vertex", None, "no GOOGLE_OAUTH_ACCESS_TOKEN"))
    if all(listing.served is None for listing in listings):
        raise UserError("flm models --live needs credentials: set GEMINI_API_KEY (Developer API) and/or GOOGLE_OAUTH_ACCESS_TOKEN (Vertex AI)")
    return listings


def compare(catalog: Catalog, listing: Listing, today: dt.date) -> Difference:
    """New Gemini IDs the platform serves that the data lacks; IDs the data says are available that it does not serve."""
    served = listing.served or frozenset()
    known = {model_id for model in catalog.models for model_id in model.ids}
    new = sorted(i for i in served if i not in known and i.startswith("gemini"))
    gone = sorted(
        model.id
        for model in catalog.models
        if model.origin is None and model.stage != "alias"
        and model.lifecycle(listing.platform).status(today) in ("available", "deprecated")
        and not served & set(model.ids)
    )  # fmt: skip
    return Difference(listing.platform, tuple(new), tuple(gone))
