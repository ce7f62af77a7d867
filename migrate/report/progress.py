"""Progress of a long codemod run on stderr: files parsed of the total, elapsed time and an estimate.

On a terminal a rich bar; in a log (CI, a pipe) one plain line at most every `every` seconds, so
a long run shows it is alive without flooding the log and a short one prints nothing extra.
The total grows as each group of files (one per configuration) knows how many it will parse.
"""

from __future__ import annotations

import time
from typing import Callable, TextIO


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


class LogProgress:
    """Plain lines: `flm: 120/325 files parsed, 0:40 elapsed, about 1:08 left`."""

    def __init__(self, stream: TextIO, every: float = 30.0, now: Callable[[], float] = time.monotonic):
        self.stream, self.every, self.now = stream, every, now
        self.started = self.last = now()
        self.done = self.total = 0

    def planned(self, count: int) -> None:
        self.total += count

    def advance(self, _result=None) -> None:
        self.done += 1
        moment = self.now()
        if moment - self.last >= self.every and self.done < self.total:
            self.last = moment
            self.stream.write(self.line(moment) + "\n")
            self.stream.flush()

    def line(self, moment: float) -> str:
        elapsed = moment - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        return f"flm: {self.done}/{self.total} files parsed, {_clock(elapsed)} elapsed, about {_clock(left)} left"

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *_) -> None:
        pass


class BarProgress:
    """A rich bar: files parsed / total, elapsed, time remaining; gone when the run ends."""

    def __init__(self, console):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("parsing"), BarColumn(), MofNCompleteColumn(), TextColumn("files"),
            TimeElapsedColumn(), TextColumn("elapsed,"), TimeRemainingColumn(), TextColumn("left"),
            console=console, transient=True,
        )  # fmt: skip
        self.task = self.progress.add_task("parsing", total=0)

    def planned(self, count: int) -> None:
        self.progress.update(self.task, total=(self.progress.tasks[0].total or 0) + count)

    def advance(self, _result=None) -> None:
        self.progress.advance(self.task)

    def __enter__(self) -> BarProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)
