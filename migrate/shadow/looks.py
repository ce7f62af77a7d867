"""The looks ledger: which look at a run's data a verdict is, recorded in <run>/looks.jsonl.

"INCONCLUSIVE -> collect more -> --resume -> gate again" is a sequence of looks; testing each at
the full alpha inflates the false-PASS rate (9-10% at a nominal 5% after a few rounds). Every
`report` or `gate` that sees data no earlier look saw is a new look and spends the next share of
alpha (decision.look_alpha); views of the same data (the terminal report, the HTML, the gate) are
one look and agree. The data are identified by the number of call records: the store is
append-only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from migrate.shadow import store


def fingerprint(run: store.Run | store.StreamedRun) -> str:
    return f"calls:{run.call_count}"


def look_for(folder: Path, print_: str) -> tuple[int, bool]:
    """(look number, already recorded) for data with this fingerprint."""
    looks = list(store.iter_jsonl(Path(folder) / store.LOOKS))
    for entry in looks:
        if entry.get("fingerprint") == print_:
            return int(entry["look"]), True
    return max((int(e.get("look") or 0) for e in looks), default=0) + 1, False


def record(folder: Path, entry: Mapping[str, Any]) -> str | None:
    """Append a look; returns a warning when the folder cannot be written (the look then is not kept)."""
    line = json.dumps(dict(entry, at=store.now_iso()), separators=(",", ":")) + "\n"
    try:
        fd = os.open(Path(folder) / store.LOOKS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
    except OSError as exc:
        return (f"this look could not be recorded in {folder / store.LOOKS} ({exc.strerror or exc}): a later look "
                "will spend the same alpha again")
    return None
