"""Shared shadow fixtures."""

import pytest
from typer.testing import CliRunner

from migrate.shadow.cli import app
from synthetic_runs import EXAMPLE


@pytest.fixture(scope="session")
def example_run(tmp_path_factory):
    """The bundled example, run offline exactly as the README says (once per test session)."""
    out = tmp_path_factory.mktemp("example") / "run"
    result = CliRunner().invoke(app, ["run", str(EXAMPLE), "--backend", "replay", "--noise-floor", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return out
