"""Model references inside strings: bare IDs, `models/` IDs, Vertex resource names and REST URLs."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_REFERENCE = re.compile(
    r"^(?P<prefix>(?:projects/[^/\s]+/locations/[^/\s]+/)?publishers/google/models/|models/)?"
    r"(?P<id>[A-Za-z0-9][A-Za-z0-9._\-]*)$"
)


@dataclass(frozen=True)
class ModelRef:
    prefix: str  # "", "models/", "publishers/google/models/" or "projects/P/locations/L/publishers/google/models/"
    model_id: str

    def with_id(self, model_id: str) -> str:
        return self.prefix + model_id


def parse_reference(text: str) -> ModelRef | None:
    """Split a model string into its prefix form and bare ID; None if it is not a model reference."""
    match = _REFERENCE.match(text)
    if match is None:
        return None
    return ModelRef(match.group("prefix") or "", match.group("id"))


@functools.lru_cache(maxsize=8)
def url_pattern(methods: tuple[str, ...]) -> re.Pattern[str]:
    """`.../models/<id>:<method>` in a REST URL; group `id` is the model."""
    alternatives = "|".join(re.escape(m) for m in methods)
    return re.compile(rf"/models/(?P<id>[A-Za-z0-9][A-Za-z0-9._\-]*):(?:{alternatives})\b")
