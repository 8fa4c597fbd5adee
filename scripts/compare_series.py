"""Two runs of one benchmark, series by series: the spread of each against a reference forecast,
and the paired comparison of the two.

    python scripts/compare_series.py A.csv B.csv --names without with --out scripts/results/x.md
    python scripts/compare_series.py scripts/results/bench_many_last_step_base_series.csv \\
        scripts/results/bench_many_series_id_weekly_series.csv --key-a m4_weekly --names without "series id"

Reads the per-series CSVs that bench_many.py and bench_short.py write (``uid`` and
``<model>_test_mase`` columns; ``--key-a`` / ``--key-b`` keep the rows whose ``key`` or ``label``
contains that text). Prints and writes (``--out``) one markdown table: per run, the test MASE of
``--model`` over ``--reference``'s on the same series (a model of the run, or with
``--statsforecast``, statsforecast's per-series scores of M1: ``--reference AutoETS``) (median, 80th and 95th percentile, worst,
share above 1.25), then B against A (better, worse, geometric mean of B over A, Wilcoxon
signed-rank p of the log ratios, ties left out). Why: a set-level OWA can hide the series where a
setting fails; this is the spread the issue asks for.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench/ harness
from bench.score import paired, spread  # noqa: E402


def rows(path: Path, key: str | None) -> pd.DataFrame:
    """A run's series, one row each (the last where a series repeats)."""
    frame = pd.read_csv(path)
    if key:
        column = "key" if "key" in frame else "label"
        frame = frame[frame[column].astype(str).str.contains(key, regex=False)]
    return frame.drop_duplicates("uid", keep="last").set_index("uid")


def compare(a: pd.DataFrame, b: pd.DataFrame, names: list[str], model: str, reference: str,
            outside: pd.Series | None = None) -> list[str]:
    """The table; ``outside``: the reference's test MASE per series from elsewhere (statsforecast)."""
    common = a.index.intersection(b.index)
    col, ref = f"{model}_test_mase", f"{reference}_test_mase"
    if outside is not None:
        common = common.intersection(outside.index)
        a, b = (run.assign(**{ref: outside}) for run in (a, b))
    lines = [f"Test MASE of `{model}` over `{reference}`'s, per series ({len(common)} series in both runs):", "",
             "| run | median | 80th pct | 95th pct | worst | share > 1.25 |", "|---|---|---|---|---|---|"]
    for name, run in zip(names, (a, b)):
        lines.append(f"| {name} | {spread((run.loc[common, col] / run.loc[common, ref]).dropna())} |")
    better, worse, tied, geo, p = paired(b.loc[common, col], a.loc[common, col])
    lines += ["", f"`{names[1]}` against `{names[0]}`: better on {better}, worse on "
              f"{worse} of {better + worse + tied} series, geometric mean ratio {geo:.3f}, Wilcoxon p = {p:.2f}."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--key-a", default=None, help="keep A's rows whose key (or label) contains this")
    parser.add_argument("--key-b", default=None)
    parser.add_argument("--names", nargs=2, default=["A", "B"])
    parser.add_argument("--model", default="lstm", help="the forecast compared (lstm, recommended, ...)")
    parser.add_argument("--reference", default="arima", help="the forecast each series is measured against")
    parser.add_argument("--statsforecast", type=Path, default=None,
                        help="per-series scores (uid, method, mase), e.g. ../shared/data/m1/statsforecast_per_series.csv")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    outside = None
    if args.statsforecast:
        scores = pd.read_csv(args.statsforecast)
        outside = scores[scores.method == args.reference].set_index("uid").mase
    text = "\n".join(compare(rows(args.a, args.key_a), rows(args.b, args.key_b), args.names, args.model,
                             args.reference, outside)) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
