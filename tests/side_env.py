"""What the test suite needs beyond the `[test]` extra, built once at install time so that the
suite itself never reaches a package index:

    .venv/bin/python tests/side_env.py        # README set-up command 2 and .ci/run run this

It lives inside the running virtualenv (`<sys.prefix>/flm-side-env/`), so it is git-ignored with
it and goes away with it:

- `genai3/`: a virtualenv with google-genai 3.x. google-cloud-aiplatform pins google-genai<3, so
  the main environment has 2.x, and ported programs must run on both.
- `sarif-schema-2.1.0.json`: the official OASIS SARIF 2.1.0 schema. PyPI carries it in the sdist
  of sarif-pydantic 0.6.2 (`$id` .../oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json;
  the wheel does not ship it); the member is checked against a pinned SHA-256.
- `wheelhouse/`: this package's build backend and runtime dependencies as wheels, so that the
  pre-commit end-to-end test builds its hook environment with `pip --no-index`.

Building again is cheap: a part already built is kept.
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

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: tomli is a runtime dependency there
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
ROOT = Path(sys.prefix) / "flm-side-env"
GENAI3_PYTHON = ROOT / "genai3" / "bin" / "python"
GENAI3_REQUIREMENT = "google-genai>=3,<4"
SARIF_SCHEMA = ROOT / "sarif-schema-2.1.0.json"
SARIF_REQUIREMENT = "sarif-pydantic==0.6.2"
SARIF_MEMBER = "sarif_pydantic-0.6.2/sarif-schema-2.1.0.json"
SARIF_SHA256 = "6352a05f9d03f181b8d9c71a46bdacc4fcff9d8ade5364858b425ba0c0994ed7"
WHEELHOUSE = ROOT / "wheelhouse"
BUILD_COMMAND = f"{sys.executable} tests/side_env.py"


class Missing(Exception):
    """A part of the side environment is absent or not what it should be."""


def _missing(what: str) -> Missing:
    return Missing(f"{what}: build the test side environment with `{BUILD_COMMAND}` (README, set-up command 2)")


def genai3_python() -> Path:
    probe = [str(GENAI3_PYTHON), "-c", "import google.genai as g, sys; sys.exit(int(g.__version__.split('.')[0]) != 3)"]
    if not GENAI3_PYTHON.exists() or subprocess.run(probe, capture_output=True).returncode != 0:
        raise _missing(f"no google-genai 3.x at {GENAI3_PYTHON}")
    return GENAI3_PYTHON


def sarif_schema() -> dict:
    if not SARIF_SCHEMA.is_file() or hashlib.sha256(SARIF_SCHEMA.read_bytes()).hexdigest() != SARIF_SHA256:
        raise _missing(f"no SARIF 2.1.0 schema (SHA-256 {SARIF_SHA256[:12]}…) at {SARIF_SCHEMA}")
    return json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))


def wheelhouse() -> Path:
    if not (WHEELHOUSE / "complete").is_file():
        raise _missing(f"no wheelhouse for an index-free install of this package at {WHEELHOUSE}")
    return WHEELHOUSE


def require(part: str):
    """The part (`genai3_python`, `sarif_schema`, `wheelhouse`) for a test. Missing, the test skips
    saying how to build it; under CI (`CI=true`) it fails, so CI never passes by skipping."""
    import pytest

    try:
        return globals()[part]()
    except Missing as missing:
        (pytest.fail if os.environ.get("CI", "").lower() in ("1", "true") else pytest.skip)(str(missing))


def _pip(python: Path | str, *args: str) -> None:
    done = subprocess.run([str(python), "-m", "pip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"side_env: pip {' '.join(args)} failed:\n{done.stderr[-3000:]}")


def build_genai3() -> None:
    try:
        genai3_python()
        return
    except Missing:
        pass
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(GENAI3_PYTHON.parents[1])], check=True)
    _pip(GENAI3_PYTHON, "install", "--quiet", GENAI3_REQUIREMENT)
    genai3_python()


def build_sarif_schema() -> None:
    try:
        sarif_schema()
        return
    except Missing:
        pass
    with tempfile.TemporaryDirectory() as download:
        _pip(sys.executable, "download", "--quiet", "--no-deps", "--no-binary", ":all:", "-d", download, SARIF_REQUIREMENT)
        (sdist,) = Path(download).glob("*.tar.gz")
        with tarfile.open(sdist) as archive:
            data = archive.extractfile(SARIF_MEMBER).read()  # type: ignore[union-attr]
    digest = hashlib.sha256(data).hexdigest()
    if digest != SARIF_SHA256:
        raise SystemExit(f"side_env: {SARIF_MEMBER} has SHA-256 {digest}, expected {SARIF_SHA256}")
    SARIF_SCHEMA.write_bytes(data)


def build_wheelhouse() -> None:
    """Wheels for `pip install --no-index --find-links wheelhouse .`: the build backend, then the
    runtime dependencies, as the interpreter running this resolves them."""
    (WHEELHOUSE / "complete").unlink(missing_ok=True)
    backend = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]
    _pip(sys.executable, "download", "--quiet", "-d", str(WHEELHOUSE), "--only-binary", ":all:", *backend)
    _pip(sys.executable, "download", "--quiet", "-d", str(WHEELHOUSE), "--only-binary", ":all:", str(REPO))
    (WHEELHOUSE / "complete").write_text("")


def main() -> None:
    ROOT.mkdir(parents=True, exist_ok=True)
    build_genai3()
    build_sarif_schema()
    build_wheelhouse()
    print(f"side_env: ready at {ROOT}")


if __name__ == "__main__":
    main()
