"""The closing summary line: skips grouped by what happened (not where), counts in good English."""

from pathlib import Path

from migrate.codemod.findings import FileResult, Finding
from migrate.report.summary import summarize


def test_skips_group_by_reason_without_their_location_and_counts_are_singular_when_one():
    results = [
        FileResult(Path("a.ipynb"), "skipped", reason="syntax error at cell 14, line 39: parser error: expected ..."),
        FileResult(Path("b.py"), "skipped", reason="syntax error at line 3: tokenizer error: unterminated string literal"),
        FileResult(Path("c.ipynb"), "skipped", reason="unsupported IPython input at cell 3, line 1: the cell starts indented"),
        FileResult(Path("d.py"), "changed", [Finding("FLM001", "safe", 1, 1, "m", "a", "b", applied=True), Finding("FLM003", "report", 1, 1, "m")]),
    ]
    summary = summarize(results, 1.0)
    assert summary.skip_reasons == {"syntax error": 2, "unsupported IPython input": 1}
    line = summary.line()
    assert "(syntax error: 2; unsupported IPython input: 1)" in line
    assert ", 1 edit, 1 finding in" in line


def test_plural():
    from migrate.wording import plural

    assert (plural(1, "error"), plural(0, "error"), plural(1, "retry", "retries"), plural(7, "retry", "retries")) == ("1 error", "0 errors", "1 retry", "7 retries")
