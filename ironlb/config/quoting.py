"""Quoting of user values in error messages: double quotes, as Go's %q and MetalLB print them."""

from __future__ import annotations

import json
from typing import Any


def q(value: Any) -> str:
    """`"value"` for strings (JSON escapes), the plain text of anything else."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value) if value is None or isinstance(value, bool) else str(value)
