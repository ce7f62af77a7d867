"""Keep credentials out of everything we write: run store, logs, reports, exception text.

Backends register every key or token they hold with `REDACTOR.add(...)` the moment they read it;
the store passes each line it writes through `REDACTOR(...)`, and backend error messages go
through it before they become a record or an exception. Defence in depth: the values are also
never put into a record on purpose.
"""

from __future__ import annotations

import json
import threading

MASK = "[REDACTED]"


class Redactor:
    """Replaces every registered secret (raw and JSON-escaped forms) with a fixed mask."""

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        if not secret or len(secret) < 4:
            return
        forms = {secret, json.dumps(secret)[1:-1]}
        with self._lock:
            self._secrets = tuple(sorted(set(self._secrets) | forms, key=len, reverse=True))

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


REDACTOR = Redactor()
