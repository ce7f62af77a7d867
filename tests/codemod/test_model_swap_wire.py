"""A migrated program, run with the real SDK against the fake Gemini server, sends the same
requests as the original with only the model changed, and prints the same output."""

import pytest

from migrate.codemod.engine import migrate_source
from migrate.settings import Settings
from sdk_harness import assert_migration_equivalent, run_programs
from tests.codemod.fixture_pairs import AS_OF, ROOT

WIRE = ROOT / "wire"
TARGET = "gemini-3.1-flash-lite"
PROGRAMS = sorted(WIRE.glob("*.py"))


@pytest.fixture(scope="module")
def runs():
    """Every original and its migrated version, run in parallel (SDK start-up dominates)."""
    settings = Settings(target=TARGET, select=("FLM0",), as_of=AS_OF)  # the model-swap family only
    migrated = []
    for program in PROGRAMS:
        result = migrate_source(program.read_bytes(), settings, path=program)
        assert result.changed, f"{program.name}: {result.status} {result.reason}"
        migrated.append(result.new_bytes.decode())
    outcomes = run_programs([*map(str, PROGRAMS), *migrated])
    return dict(zip([p.name for p in PROGRAMS], zip(outcomes, outcomes[len(PROGRAMS):])))


@pytest.mark.parametrize("name", [p.name for p in PROGRAMS])
def test_server_sees_the_target_and_nothing_else_changes(runs, name):
    before, after = runs[name]
    assert before.requests, "the original program must have called the server"
    assert {r.model for r in before.requests} != {TARGET}
    assert_migration_equivalent(before, after, target_model=TARGET)
