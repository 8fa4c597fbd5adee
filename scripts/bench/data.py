"""The shared data sets: M1 and the M4 subset in ../shared/data, their layouts and references.

Both folders hold ``train.csv`` (uid, t, value), ``test.csv`` (uid, step, value: the official
held-out horizon) and ``catalog.csv``; see their README.md. A series here is its official
training part followed by its test part, so growlstm's last-h test block *is* the official
horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SCRIPTS = Path(__file__).resolve().parents[1]
RESULTS = SCRIPTS / "results"
SHARED = SCRIPTS.parents[1] / "shared" / "data"
M1_DIR = SHARED / "m1"
M4_DIR = SHARED / "m4"

# subset: (uid pattern, h, season length), the official horizons and seasons.
M1_SUBSETS = {"m1_monthly": ("M1-M*", 18, 12), "m1_quarterly": ("M1-Q*", 8, 4), "m1_yearly": ("M1-Y*", 6, 1)}
M4_SUBSETS = {"m4_monthly": ("M4-M*", 18, 12), "m4_weekly": ("M4-W*", 13, 1), "m4_hourly": ("M4-H*", 48, 24)}
# The M4 frequency each subset belongs to, as the official score sheets name it.
M4_FREQ = {"m4_monthly": "Monthly", "m4_weekly": "Weekly", "m4_hourly": "Hourly"}
REFERENCES = ("AutoETS", "AutoARIMA", "AutoTheta")


def folder_of(subset: str) -> Path:
    """The shared folder of an M1 or M4 subset, checked to exist."""
    folder = M1_DIR if subset.startswith("m1") else M4_DIR
    if not folder.is_dir():
        raise SystemExit(f"{folder.name.upper()} data not found at {folder} (it lives in ../shared/data)")
    return folder


def layout(subset: str) -> tuple[str, int, int]:
    """(uid pattern, h, season length) of an M1 or M4 subset."""
    return {**M1_SUBSETS, **M4_SUBSETS}[subset]


@dataclass
class Series:
    uid: str
    subset: str
    values: np.ndarray  # train then test
    season_length: int
    h: int

    @property
    def train(self) -> np.ndarray:
        return self.values[: -self.h]

    @property
    def test(self) -> np.ndarray:
        return self.values[-self.h:]


M4Series = Series  # the name scripts/m4.py gave it


def load_series(folder: Path, subsets: tuple[str, ...]) -> list[Series]:
    """The catalogue's series of ``subsets`` in ``folder``, train then test, in catalogue order."""
    if not folder.is_dir():
        raise SystemExit(f"data not found at {folder} (it lives in ../shared/data)")
    catalog = pd.read_csv(folder / "catalog.csv")
    train = {u: g.sort_values("t").value.to_numpy(float) for u, g in pd.read_csv(folder / "train.csv").groupby("uid")}
    test = {u: g.sort_values("step").value.to_numpy(float) for u, g in pd.read_csv(folder / "test.csv").groupby("uid")}
    return [Series(r.uid, r.subset, np.concatenate([train[r.uid], test[r.uid]]), int(r.seasonal_period), int(r.horizon))
            for r in catalog.itertuples() if r.subset in subsets]


def load_m4(subsets: tuple[str, ...] = tuple(M4_SUBSETS), m4_dir: Path = M4_DIR) -> list[Series]:
    return load_series(m4_dir, subsets)


def collection_data(folder: Path, pattern: str, season: int) -> Any:
    """The series of a shared collection matching ``pattern``, through growlstm's CSV loader
    with test.csv as each series' test span (what ``data=m4 data.path=...`` does)."""
    from growlstm.config import DataConfig

    return DataConfig(name="csv", path=str(folder / "train.csv"), test_path=str(folder / "test.csv"), id_col="uid",
                      time_col="t", target="value", series=pattern, season_length=season)


def subset_data(subset: str) -> tuple[Any, int]:
    """(DataConfig, h) of an M1 or M4 subset as a user would load it."""
    pattern, h, season = layout(subset)
    return collection_data(folder_of(subset), pattern, season), h


def evenly(items: list[Any], k: int) -> list[Any]:
    """``k`` of ``items`` evenly spaced (all when k >= len)."""
    if not items:
        return []
    return [items[i] for i in sorted(set(np.linspace(0, len(items) - 1, min(k, len(items))).round().astype(int)))]


def m4_sample(subset: str, k: int) -> list[str]:
    """``k`` uids of an M4 subset, evenly spaced in catalogue order."""
    catalog = pd.read_csv(M4_DIR / "catalog.csv")
    return evenly(catalog[catalog.subset == subset].uid.tolist(), k)


def per_subset(series: list[Series], k: int, subsets: tuple[str, ...] = tuple(M4_SUBSETS)) -> list[Series]:
    """k series of each subset, evenly spaced, interleaved (monthly, weekly, hourly, monthly, ...).

    Why interleaved: an interrupted run then still covers every subset, and the CSV it leaves
    is resumed by the same command or extended by a larger k."""
    picks = [evenly([s for s in series if s.subset == sub], k) for sub in subsets]
    return [g[i] for i in range(max(map(len, picks), default=0)) for g in picks if i < len(g)]


def statsforecast_table() -> pd.DataFrame:
    """statsforecast's sMAPE and MASE per series (columns (metric, method), methods AutoETS,
    AutoARIMA, AutoTheta and Naive2): M1 from the shared file, M4 from bench_baselines.csv
    (scripts/bench_baselines.py)."""
    frames = [pd.read_csv(M1_DIR / "statsforecast_per_series.csv")]
    path = RESULTS / "bench_baselines.csv"
    if path.exists():
        names = {"sf_ets": "AutoETS", "sf_arima": "AutoARIMA", "sf_theta": "AutoTheta", "naive2": "Naive2"}
        m4 = pd.read_csv(path)
        frames.append(m4[m4.method.isin(list(names))].assign(method=lambda f: f.method.map(names)))
    per = pd.concat(frames, ignore_index=True)
    per = per[per.method.isin([*REFERENCES, "Naive2"])]
    return per.pivot_table(index="uid", columns="method", values=["smape", "mase"])


def m4_official(kind: str = "point") -> pd.DataFrame:
    """The official M4 score sheet (``point``: sMAPE / MASE / OWA; ``interval``: MSIS / ACD),
    indexed by method id (``118`` is Smyl's ES-RNN, the winner)."""
    return pd.read_csv(M4_DIR / f"m4_official_{kind}_scores.csv").set_index("method_id")


def read_or_empty(path: Path, columns: tuple[str, ...] = ("label",)) -> pd.DataFrame:
    """A result CSV written so far, or an empty frame with ``columns``."""
    return pd.read_csv(path, low_memory=False) if path.exists() else pd.DataFrame(columns=list(columns))
