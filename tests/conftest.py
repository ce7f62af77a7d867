"""Shared fixtures. The fake Gemini server lives in ``fake_gemini.py`` next to this file."""

import os
import sys
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:  # `import fake_gemini` / `sdk_harness` from any test module
    sys.path.insert(0, _TESTS)

import side_env as _side_env  # noqa: E402
from fake_gemini import FakeGemini  # noqa: E402

# Tests never reach a package index: a pip that a test runs may use local files only. What the
# suite needs from an index is installed beforehand (the `[test]` extra and tests/side_env.py).
os.environ["PIP_NO_INDEX"] = "1"


@pytest.fixture(scope="session")
def side_env():
    """``side_env("wheelhouse")``: a part of the environment built at install time (tests/side_env.py)."""
    return _side_env.require


@pytest.fixture
def fake_gemini():
    """A running ``FakeGemini`` on an ephemeral 127.0.0.1 port, fresh for each test."""
    with FakeGemini() as srv:
        yield srv
