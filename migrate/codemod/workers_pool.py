"""Files processed in worker processes, where a worker dying takes down only its own file.

ProcessPoolExecutor breaks for good when one worker is killed (the OOM killer's SIGKILL, a
SIGABRT inside LibCST): every pending future fails and the map raises. Here at most `workers + 1`
files are in flight; when the pool breaks, each of those is run again alone in a fresh child
process (the one that dies again is reported as that file's error, with the signal), and the
files not yet started go on in a fresh pool. Workers also die with their parent: on Linux via
PR_SET_PDEATHSIG, elsewhere via a thread that watches os.getppid().
"""

from __future__ import annotations

import collections
import concurrent.futures
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Iterator

from migrate.codemod.findings import FileResult
from migrate.settings import Settings

Worker = Callable[[Path, Settings], FileResult]
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Run in a fresh worker: end this process as soon as `parent` is gone."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="flm-parent-watch", daemon=True).start()


def map_files(work: Worker, paths: list[Path], settings: Settings, workers: int) -> Iterator[FileResult]:
    """work(path, settings) for every path, in completion order; never raises for a dead worker."""
    waiting = collections.deque(paths)
    while waiting:
        suspects: list[Path] = []
        with _pool(workers) as pool:
            in_flight: dict[concurrent.futures.Future, Path] = {}
            while (waiting or in_flight) and not suspects:
                while waiting and len(in_flight) <= workers:
                    path = waiting.popleft()
                    in_flight[pool.submit(work, path, settings)] = path
                done, _ = concurrent.futures.wait(in_flight, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in done:
                    path = in_flight.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:  # a worker died: this file, or another one in flight, killed it
                        suspects.append(path)
            suspects += in_flight.values()
        for path in suspects:
            yield run_alone(work, path, settings)


def _pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=_context(), initializer=die_with_parent, initargs=(os.getpid(),)
    )


def _context() -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)


def run_alone(work: Worker, path: Path, settings: Settings) -> FileResult:
    """One file in its own child process; its death (and how) becomes the file's error."""
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(work, path, settings, sender, os.getpid()), daemon=True)
    child.start()
    sender.close()
    try:
        result = receiver.recv()
    except EOFError:
        result = None
    finally:
        receiver.close()
        child.join()
    if isinstance(result, FileResult):
        return result
    return FileResult(path, "error", reason=f"worker process died while processing this file ({_death(child.exitcode)}); the other files were processed")


def _child(work: Worker, path: Path, settings: Settings, sender, parent: int) -> None:
    die_with_parent(parent)
    sender.send(work(path, settings))
    sender.close()


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = ": likely out of memory - see --max-file-size" if name == "SIGKILL" else ""
        return f"killed by {name}{hint}"
    return f"exit code {exitcode}"
