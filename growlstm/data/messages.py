"""How values appear in the data's error messages: timestamps without a midnight, long lists cut."""

from __future__ import annotations

from typing import Any, Iterable

import pandas as pd


def _fmt(t: Any) -> str:
    """A timestamp without a midnight time part (2020-01-01, not 2020-01-01 00:00:00)."""
    if isinstance(t, pd.Timestamp) and t == t.normalize():
        return str(t.date())
    return str(t)


def _list(items: Iterable[Any], n: int = 10) -> str:
    items = [str(i) for i in items]
    more = f", ... ({len(items)} in all)" if len(items) > n else ""
    return ", ".join(items[:n]) + more
