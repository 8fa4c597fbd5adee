"""The M4 subset in ../shared/data/m4 as (uid, series, season length, horizon) for benchmarks.

Each series is the official training part followed by the official test part, so growlstm's
last-h test block *is* the M4 test horizon and its validation block is the last h of training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

M4_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "m4"


@dataclass
class M4Series:
    uid: str
    subset: str
    values: np.ndarray  # train then test
    season_length: int
    h: int


def load_m4(subsets: tuple[str, ...] = ("m4_monthly", "m4_weekly", "m4_hourly"), m4_dir: Path = M4_DIR) -> list[M4Series]:
    if not m4_dir.is_dir():
        raise SystemExit(f"M4 subset not found at {m4_dir} (it lives in ../shared/data/m4)")
    catalog = pd.read_csv(m4_dir / "catalog.csv")
    train = pd.read_csv(m4_dir / "train.csv").sort_values(["uid", "t"])
    test = pd.read_csv(m4_dir / "test.csv").sort_values(["uid", "step"])
    out = []
    for row in catalog.itertuples():
        if row.subset not in subsets:
            continue
        values = np.concatenate(
            [train.loc[train.uid == row.uid, "value"].to_numpy(), test.loc[test.uid == row.uid, "value"].to_numpy()]
        )
        out.append(M4Series(row.uid, row.subset, values.astype(float), int(row.seasonal_period), int(row.horizon)))
    return out
