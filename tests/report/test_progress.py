"""Progress: the total is the files the run parses, and a log gets a plain line at most every N seconds."""

import io
import shutil
from pathlib import Path

from migrate.codemod import project
from migrate.config import Overrides
from migrate.report.progress import LogProgress
from tests.codemod.fixture_pairs import AS_OF

EXAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "example"


def test_a_run_announces_as_many_files_as_it_then_reports(tmp_path, monkeypatch):
    shutil.copytree(EXAMPLE, tmp_path / "proj")
    monkeypatch.chdir(tmp_path / "proj")
    planned, done = [], []
    outcome = project.run(["."], Overrides(as_of=AS_OF, jobs=1), use_cache=False, on_result=done.append, on_planned=planned.append)
    assert sum(planned) == len(done) == outcome.summary.candidates > 0


def test_log_progress_prints_a_line_per_interval_with_elapsed_and_estimate():
    moments = iter([0.0, 10.0, 31.0, 40.0, 62.0, 70.0])
    stream = io.StringIO()
    shown = LogProgress(stream, every=30.0, now=lambda: next(moments))
    shown.planned(4)
    shown.planned(2)
    for _ in range(5):
        shown.advance()
    assert stream.getvalue().splitlines() == [
        "flm: 2/6 files parsed, 0:31 elapsed, about 1:02 left",
        "flm: 4/6 files parsed, 1:02 elapsed, about 0:31 left",
    ]
