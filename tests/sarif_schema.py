"""The official OASIS SARIF 2.1.0 JSON schema, for validating our SARIF output.

It is not vendored here and not reachable directly, but PyPI carries it: the sdist of
sarif-pydantic 0.6.2 ships `sarif-schema-2.1.0.json` (the OASIS file, `$id`
https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json).
Its wheel does not, so the sdist is fetched once with pip (from the configured index), the member
checked against a pinned SHA-256, and kept under pytest's cache folder. Offline, set FLM_OFFLINE=1
to skip the schema tests instead of failing them.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

REQUIREMENT = "sarif-pydantic==0.6.2"
MEMBER = "sarif_pydantic-0.6.2/sarif-schema-2.1.0.json"
SHA256 = "6352a05f9d03f181b8d9c71a46bdacc4fcff9d8ade5364858b425ba0c0994ed7"


def official_schema(cache_dir: Path) -> dict:
    target = cache_dir / "sarif-schema-2.1.0.json"
    if not (target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == SHA256):
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as download:
            done = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", "-d", download, REQUIREMENT],
                capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            if done.returncode != 0:
                if os.environ.get("FLM_OFFLINE") == "1":
                    pytest.skip(f"cannot download {REQUIREMENT} for the SARIF schema (FLM_OFFLINE=1)")
                raise RuntimeError(f"pip download {REQUIREMENT} failed (set FLM_OFFLINE=1 to skip): {done.stderr[-2000:]}")
            (sdist,) = Path(download).glob("*.tar.gz")
            with tarfile.open(sdist) as archive:
                data = archive.extractfile(MEMBER).read()  # type: ignore[union-attr]
        digest = hashlib.sha256(data).hexdigest()
        if digest != SHA256:
            raise RuntimeError(f"{MEMBER}: SHA-256 {digest}, expected {SHA256}: not the schema this test was written for")
        target.write_bytes(data)
    return json.loads(target.read_text(encoding="utf-8"))
