"""Fuzz `flm fix` with generated programs holding legacy-SDK code (a small budget for CI: 5
programs, ~20 s, nearly all of it hypothesmith drawing them;
bench/fuzz_bench.py runs thousands): no crash, no unparsable output, no new undefined name, a
second run changes nothing, and no line outside the port's own edits changes."""

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings

from tests.codemod.fuzz_programs import check, compiles, programs


# No shrinking in CI (it can take minutes) and the same programs every run (CI must not flake);
# a failure prints the whole program, and
# bench/fuzz_bench.py cuts a failing program down to a minimal reproducer.
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True, phases=(Phase.explicit, Phase.generate))
@given(programs(from_node=False))
def test_generated_programs_port_cleanly(program):
    before, snippet, after = program
    assume(compiles(before + snippet + after))
    verdict = check(before, snippet, after)
    assert verdict.problem is None, f"{verdict.problem}: {verdict.detail}\n--- program ---\n{before + snippet + after}"
