"""Shared fixtures. The fake Gemini server lives in ``fake_gemini.py`` next to this file."""

import sys
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:  # `import fake_gemini` / `sdk_harness` from any test module
    sys.path.insert(0, _TESTS)

from fake_gemini import FakeGemini  # noqa: E402


@pytest.fixture
def fake_gemini():
    """A running ``FakeGemini`` on an ephemeral 127.0.0.1 port, fresh for each test."""
    with FakeGemini() as srv:
        yield srv
