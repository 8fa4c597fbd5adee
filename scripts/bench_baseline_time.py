"""Where a pooled run's time goes (issue 40): the classical baselines' share of the wall time of
one default run on a whole M1 subset, for the code as it is and for an earlier revision.

    python scripts/bench_baseline_time.py                        # M1 monthly, this tree and 099706a
    python scripts/bench_baseline_time.py --subset m1_quarterly --rev 099706a

Each revision runs the CLI as a user would (``growlstm data=m4 data.path=... data.series='M1-M*'
h=18 data.season_length=12``, the defaults otherwise: two worker processes on 2 cores) in a fresh
process; an earlier revision from a git worktree of it, with this environment's packages. The
baselines' time is read off the console: from the line that announces "fitting ... on every
series" to the "baselines (mean ...)" line after them (the same two lines in both revisions),
and checked against ``summary.json``'s ``global.baseline_seconds`` where the revision writes it.
Timings on a shared 2-core machine: compare within one run of this script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench/ harness
from bench.data import RESULTS, folder_of, layout  # noqa: E402
from bench.table import markdown, write  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLI = "from growlstm.cli import main; main()"


def timed_run(tree: Path, subset: str, out: Path) -> dict[str, float | str]:
    """One default pooled run of ``subset`` from source ``tree``: wall and baseline seconds, and their ratio."""
    pattern, h, season = layout(subset)
    folder = folder_of(subset)
    args = ["data=m4", f"data.path={folder / 'train.csv'}", f"data.test_path={folder / 'test.csv'}",
            f"data.series={pattern}", f"h={h}", f"data.season_length={season}", f"hydra.run.dir={out}"]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    marks: dict[str, float] = {}
    proc = subprocess.Popen([sys.executable, "-c", CLI, *args], cwd=tree, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    for line in proc.stdout:  # the console, line by line, as it is printed
        now = time.perf_counter() - start
        if "on every series" in line and "fitting" in line:
            marks.setdefault("fitting", now)
        elif "baselines (mean" in line:
            marks.setdefault("fitted", now)
    wall = time.perf_counter() - start
    if proc.wait() != 0 or len(marks) < 2:
        raise SystemExit(f"the run from {tree} failed or printed no baseline lines (rc {proc.returncode})")
    summary = json.loads((out / "summary.json").read_text())
    recorded = (summary.get("global") or {}).get("baseline_seconds")
    baselines = marks["fitted"] - marks["fitting"]
    return {"wall": wall, "baselines": baselines, "recorded": recorded if recorded is not None else float("nan"),
            "share": baselines / wall}


def worktree(rev: str, where: Path) -> Path:
    """A checkout of ``rev`` (a git worktree, removed by the caller's temporary folder)."""
    subprocess.run(["git", "worktree", "add", "--detach", str(where), rev], cwd=ROOT, check=True,
                   capture_output=True)
    return where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subset", default="m1_monthly", choices=["m1_monthly", "m1_quarterly", "m1_yearly"])
    parser.add_argument("--rev", default="099706a", help="the earlier revision (default: before this round)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        trees = {f"{args.rev} (before)": worktree(args.rev, Path(tmp) / "before"), "this tree": ROOT}
        try:
            for label, tree in trees.items():
                print(f"{label}: running {args.subset} ...", flush=True)
                r = timed_run(tree, args.subset, Path(tmp) / f"run_{len(rows)}")
                rows.append({"code": label, "wall s": r["wall"], "baselines s": r["baselines"],
                             "summary.json baseline_seconds": r["recorded"], "baselines / wall": r["share"]})
                print(f"  wall {r['wall']:.0f} s, baselines {r['baselines']:.0f} s ({r['share']:.0%})", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(Path(tmp) / "before")], cwd=ROOT,
                           capture_output=True)
    frame = pd.DataFrame(rows)
    before, now = rows
    ratio = now["baselines s"] / before["baselines s"]
    body = [
        f"One default pooled run of {args.subset} (global scope, two worker processes) per revision, on a shared "
        "2-core CPU; baselines' seconds from the console (fitting ... to baselines (mean ...)).", "",
        *markdown(frame), "",
        f"Baseline time now / before: {ratio:.2f} (target <= 0.33: {'met' if ratio <= 1 / 3 else 'MISSED'}); "
        f"share of the run's wall time now: {now['baselines / wall']:.0%} (target <= 25%: "
        f"{'met' if now['baselines / wall'] <= 0.25 else 'MISSED'}).",
    ]
    write(args.out, f"bench_baseline_time_{args.subset}", "Where a pooled run's time goes: the baselines' share",
          body, frame)


if __name__ == "__main__":
    main()
