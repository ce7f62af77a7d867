"""FLM001-FLM004 and the capability findings, as before/after fixture pairs."""

import pytest

from tests.codemod.fixture_pairs import cases, check_case


@pytest.mark.parametrize("case", cases("models"), ids=lambda c: c.source.stem)
def test_fixture(case):
    check_case(case)
