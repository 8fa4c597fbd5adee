"""The built-in datasets: real series that statsmodels ships (no download)."""

from __future__ import annotations

from typing import Callable

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from growlstm.config import DataConfig

BUILTINS: tuple[str, ...] = ("co2", "sunspots", "nile", "elec_equip", "macrodata", "m4_sample")
# Files shipped inside the package (no download): see samples/README.md.
SAMPLES = Path(__file__).resolve().parent / "samples"


def _co2() -> tuple[pd.DataFrame, str]:
    import statsmodels.api as sm

    weekly = sm.datasets.co2.load_pandas().data["co2"]
    # Weekly samples with missing weeks: monthly means are the usual regular view. A few
    # months (1958-06, 1958-10, 1964-02..04) had no sample at all; linear interpolation in
    # time fills those 5 of ~500 months instead of breaking the series.
    monthly = weekly.resample("MS").mean().interpolate(method="time")
    return pd.DataFrame({"ds": monthly.index, "co2": monthly.to_numpy()}), "co2"


def _sunspots() -> tuple[pd.DataFrame, str]:
    import statsmodels.api as sm

    d = sm.datasets.sunspots.load_pandas().data
    return pd.DataFrame({"ds": _years(d["YEAR"]), "SUNACTIVITY": d["SUNACTIVITY"]}), "SUNACTIVITY"


def _nile() -> tuple[pd.DataFrame, str]:
    import statsmodels.api as sm

    d = sm.datasets.nile.load_pandas().data
    return pd.DataFrame({"ds": _years(d["year"]), "volume": d["volume"]}), "volume"


def _elec_equip() -> tuple[pd.DataFrame, str]:
    from statsmodels.datasets import elec_equip

    d = elec_equip.load_pandas().data
    return pd.DataFrame({"ds": d.index, "elec_equip": d.iloc[:, 0].to_numpy()}), "elec_equip"


def _macrodata() -> tuple[pd.DataFrame, str]:
    import statsmodels.api as sm

    d = sm.datasets.macrodata.load_pandas().data
    q = pd.PeriodIndex.from_fields(year=d["year"].astype(int), quarter=d["quarter"].astype(int),
                                   freq="Q")
    # Other columns stay available as features (data.features=[realcons,...]).
    out = d.drop(columns=["year", "quarter"]).reset_index(drop=True)
    out.insert(0, "ds", q.to_timestamp())
    return out, "realgdp"


def _years(col: pd.Series) -> pd.Series:
    return pd.to_datetime(col.astype(int).astype(str), format="%Y").reset_index(drop=True)


_BUILTIN_LOADERS: dict[str, Callable[[], tuple[pd.DataFrame, str]]] = {
    "co2": _co2, "sunspots": _sunspots, "nile": _nile, "elec_equip": _elec_equip,
    "macrodata": _macrodata,
}


def m4_sample_config(cfg: "DataConfig") -> "DataConfig":
    """``data=m4_sample``: ten real M4 monthly series and their official test spans, shipped with
    the package, read as the M4 layout (``uid, t, value`` plus ``uid, step, value``). The series
    carry no dates (M4 gives none), so the season is 12 unless given and ``h`` must be given."""
    return replace(cfg, name="csv", path=str(SAMPLES / "m4_monthly_train.csv"),
                   test_path=str(SAMPLES / "m4_monthly_test.csv"), id_col="uid", time_col="t", target="value",
                   season_length=cfg.season_length or 12)
