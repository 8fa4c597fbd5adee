"""Scores over per-series rows: set-level OWA (M4), statsforecast's references, spread and
paired comparisons over series. Per-series metrics come from growlstm.metrics (or the runs)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from growlstm.metrics import owa as owa_of_means

from .data import REFERENCES


def owa(rows: pd.DataFrame, model: str) -> tuple[float, int]:
    """Set-level OWA of ``model`` vs Naive2 over the rows where both have test scores (as in M4):
    the ratios of mean sMAPE and mean MASE, averaged; and how many rows that was."""
    cols = [f"{model}_test_smape", f"{model}_test_mase", "naive2_test_smape", "naive2_test_mase"]
    if not all(c in rows for c in cols):
        return float("nan"), 0
    both = rows.dropna(subset=cols)
    if both.empty:
        return float("nan"), 0
    return float(owa_of_means(*(both[c].mean() for c in cols))), len(both)


def set_scores(rows: pd.DataFrame, model: str) -> tuple[float, float, float]:
    """(mean test sMAPE, mean test MASE, OWA vs naive2) of ``model`` over ``rows``."""
    return (float(rows[f"{model}_test_smape"].mean()), float(rows[f"{model}_test_mase"].mean()),
            owa(rows, model)[0])


def references(rows: pd.DataFrame, table: pd.DataFrame) -> dict[str, float]:
    """statsforecast's OWA vs Naive2 on ``rows``' series (``table``: data.statsforecast_table);
    nan when some series lack a reference."""
    if rows.empty or not rows.uid.isin(table.index).all():
        return {r: float("nan") for r in REFERENCES}
    per = table.loc[rows.uid]
    return {r: float(owa_of_means(per["smape", r].mean(), per["mase", r].mean(), per["smape", "Naive2"].mean(),
                                  per["mase", "Naive2"].mean())) for r in REFERENCES}


def with_pair(rows: pd.DataFrame) -> pd.DataFrame:
    """``lstm+best_*``: each row's own LSTM+<baseline> combination, under one name."""
    rows = rows.copy()
    for key in ("smape", "mase"):
        cols = [c for c in rows.columns if c.startswith("lstm+") and not c.startswith("lstm+comb_")
                and c.endswith(f"_test_{key}")]
        rows[f"lstm+best_test_{key}"] = rows[cols].bfill(axis=1).iloc[:, 0] if cols else float("nan")
    return rows


def coverage(rows: pd.DataFrame) -> tuple[float, float, float]:
    """Mean coverage of the 80% and 95% intervals and mean MSIS at 95% (nan where not recorded)."""
    return tuple(float(rows[c].mean()) if c in rows else float("nan")  # type: ignore[return-value]
                 for c in ("coverage_80", "coverage_95", "msis_95"))


def spread(ratio: pd.Series) -> str:
    """Median | p80 | p95 | worst | share above 1.25 of per-series ratios, as table cells."""
    return (f"{ratio.median():.3f} | {ratio.quantile(0.8):.3f} | {ratio.quantile(0.95):.2f} | {ratio.max():.2f} | "
            f"{100 * (ratio > 1.25).mean():.0f}%")


def paired(new: pd.Series, old: pd.Series) -> tuple[int, int, int, float, float]:
    """``new`` against ``old`` (per-series scores, same index): series better, worse and tied,
    the geometric mean of new over old, and the Wilcoxon signed-rank p of the log ratios (ties
    left out)."""
    from scipy.stats import wilcoxon

    logs = np.log(new / old).dropna()
    untied = logs[np.abs(logs) > 1e-9]
    p = wilcoxon(untied).pvalue if len(untied) else math.nan
    return int((logs < -1e-9).sum()), int((logs > 1e-9).sum()), len(logs) - len(untied), math.exp(logs.mean()), p
