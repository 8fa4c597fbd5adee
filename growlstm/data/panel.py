"""Panel: many series in one long table (``unique_id, ds, y``), with their frequency and season."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from growlstm.errors import InputError
from growlstm.data.messages import _list

log = logging.getLogger("growlstm")


@dataclass
class Panel:
    """One or many series as a long table, Nixtla-style."""

    df: pd.DataFrame  # unique_id (str), ds, y (float), features (float); sorted; no NaN
    freq: str | None  # "Y","Q","M","W","D","H" or None (unknown / integer steps)
    season_length: int
    features: list[str] = field(default_factory=list)
    name: str = "panel"
    skipped: dict[str, str] = field(default_factory=dict)  # series left out, with the reason
    test_rows: dict[str, int] = field(default_factory=dict)  # held-out rows appended (data.test_path)

    def ids(self) -> list[str]:
        """Series ids in table order."""
        # Cached per table: a many-series run asks once per series, and pd.unique over string
        # columns is not free. A new table (dataclasses.replace) gets a new Panel.
        cached = self.__dict__.get("_ids")
        if cached is None or cached[0] is not self.df:
            cached = (self.df, list(pd.unique(self.df["unique_id"])))
            self.__dict__["_ids"] = cached
        return list(cached[1])

    def series(self, uid: str | None = None) -> pd.DataFrame:
        """One series' rows (ds, y, features); `uid=None` means the only series."""
        ids = self.ids()
        if uid is None:
            if len(ids) != 1:
                raise InputError(
                    f"{self.name} holds {len(ids)} series ({_list(ids)}); which one is meant",
                    f"pick one with data.series=<id>, e.g. data.series={ids[0]}",
                )
            uid = ids[0]
        if uid not in ids:
            raise InputError(f"series '{uid}' is not in {self.name}; it holds {_list(ids)}",
                             "use one of those ids in data.series")
        rows = self.df if len(ids) == 1 else self.df[self.df["unique_id"] == uid]
        return self._frame(rows)

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every series as ``series`` gives it, in one pass over the table (not one per series)."""
        return {str(uid): self._frame(rows) for uid, rows in self.df.groupby("unique_id", sort=False)}

    def _frame(self, rows: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({c: rows[c].to_numpy() for c in ("ds", "y", *self.features)})

    def __len__(self) -> int:
        return len(self.ids())


def _zero_step(ds: pd.Series) -> object:
    """A zero difference of the time column's dtype (Timedelta for dates, 0 for steps)."""
    return pd.Timedelta(0) if pd.api.types.is_datetime64_any_dtype(ds) else 0


def report_skipped(panel: Panel) -> None:
    """Warn about the series the loader left out (``data.bad_series=skip``), one line each."""
    for uid, reason in panel.skipped.items():
        log.warning("skipped series %s: %s", uid, reason)
    if panel.skipped:
        log.warning("%d series skipped (data.bad_series=skip); data.bad_series=fail stops instead", len(panel.skipped))
