"""Result tables: markdown cells and tables, and a result written as .md (+ .csv) with a
header that says which command produced it and when."""

from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path
from typing import Any, Iterable

import pandas as pd


def cell(value: Any, digits: int = 3) -> str:
    """A table cell: floats to ``digits`` decimals, missing values blank."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def markdown(frame: pd.DataFrame, columns: Iterable[str] | None = None, digits: int = 3) -> list[str]:
    """``frame`` (its ``columns``, all by default) as markdown table lines."""
    cols = list(columns) if columns is not None else list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.reindex(columns=cols).itertuples(index=False):
        lines.append("| " + " | ".join(cell(v, digits) for v in row) + " |")
    return lines


def row(*cells: Any, digits: int = 3) -> str:
    """One markdown table row."""
    return "| " + " | ".join(cell(c, digits) for c in cells) + " |"


def command(argv: list[str] | None = None) -> str:
    """The command line that is running, as a reader would type it from the repository root."""
    argv = sys.argv if argv is None else argv
    script = Path(argv[0])
    name = f"scripts/{script.name}" if script.parent.name == "scripts" else str(script)
    return " ".join(["python", name, *(f"'{a}'" if " " in a or "*" in a else a for a in argv[1:])])


def header(title: str, cmd: str | None = None) -> list[str]:
    """``# title`` and the line naming the command and the date (what results_index.py reads)."""
    return [f"# {title}", "", f"Command: `{cmd or command()}` ({dt.date.today().isoformat()})", ""]


def write(out: Path, stem: str, title: str, body: list[str] | str, frame: pd.DataFrame | None = None) -> str:
    """Write ``<out>/<stem>.md`` (header, then ``body``) and, given a ``frame``, ``<stem>.csv``;
    print and return the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    text = "\n".join(header(title) + ([body] if isinstance(body, str) else body)).rstrip("\n") + "\n"
    (out / f"{stem}.md").write_text(text)
    if frame is not None:
        frame.to_csv(out / f"{stem}.csv", index=False)
    print(text)
    return text


def upsert(path: Path, rows: pd.DataFrame, key: str, value: Any) -> pd.DataFrame:
    """``path``'s rows with those whose ``key`` is ``value`` replaced by ``rows``, written back
    whole (columns may grow between versions). Read again first: another invocation may have
    written its runs meanwhile."""
    old = pd.read_csv(path, low_memory=False) if path.exists() else pd.DataFrame(columns=[key])
    frame = pd.concat([old[old[key] != value], rows], ignore_index=True)
    frame.to_csv(path, index=False)
    return frame
