"""The verdict document as JSON (schema and version inside: see verdict.py)."""

from __future__ import annotations

import json
import math
from typing import Any, Mapping


def _clean(value: Any) -> Any:
    """NaN/inf are not JSON: they become null; tuples become lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def render(doc: Mapping[str, Any]) -> str:
    return json.dumps(_clean(doc), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
