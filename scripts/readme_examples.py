"""Run every command of the README's examples, as shown, on real data.

    python scripts/readme_examples.py            # every example (about 20-30 minutes on 2 cores)
    python scripts/readme_examples.py --only 3 5 # some of them (numbers as in the table)

The README's placeholder files are made from real series first, under outputs/readme/:
my.csv (statsmodels' elec_equip, monthly: columns date, sales), long.csv (ten M1 monthly series
of twelve years or more as store_0..store_9: unique_id, ds, y), sales.parquet and sales.csv
(twenty M1 monthly series of 48-150 points, as store_0..store_19; M1's train and test parts joined). Commands run from the checkout
(where the README's relative paths point), with the file names replaced by those paths; the
TensorBoard command is left out (it starts a server). A command passes when it exits 0 and
prints a final `recommended:` line (a sweep exits 1 when any job failed).

Writes scripts/results/readme_examples.md and .csv (command, exit code, wall time, its recommendation line);
`--only` reruns some and keeps the other rows.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "outputs" / "readme"
M1 = ROOT.parent / "shared" / "data" / "m1" / "train.csv"
COMMANDS = [
    "growlstm",
    "growlstm data=sunspots goal.target=0.9",
    "growlstm model.widths=[8,2]",
    "growlstm --help",
    "growlstm data=csv data.path=my.csv data.time_col=date data.target=sales h=12",
    "growlstm data=csv data.path=long.csv data.id_col=unique_id data.series=store_7",
    "growlstm data=m4_sample h=18",
    "growlstm data=csv data.path=sales.parquet",
    "growlstm data=csv data.path=sales.parquet growth.scope=global",
    "growlstm -m data=co2,sunspots,nile seed=0,1",
    "growlstm -m data=co2,sunspots seed=0,1 hydra/launcher=joblib hydra.launcher.n_jobs=2",
]


def m1_monthly(lo: int, hi: int, count: int) -> pd.DataFrame:
    """``count`` M1 monthly series with lo..hi points, as stores with monthly dates."""
    train, test = pd.read_csv(M1), pd.read_csv(M1.with_name("test.csv"))  # joined: the whole series
    test["t"] = test.uid.map(train.groupby("uid").t.max()) + test.step
    m1 = pd.concat([train, test[["uid", "t", "value"]]], ignore_index=True)
    m1 = m1[m1.uid.str.startswith("M1-M")].sort_values(["uid", "t"], kind="stable")
    sizes = m1.groupby("uid").size()
    picked = sizes[(sizes >= lo) & (sizes <= hi)].index[:count]
    frames = []
    for k, uid in enumerate(picked):
        y = m1[m1.uid == uid].value.to_numpy()
        frames.append(pd.DataFrame({"unique_id": f"store_{k}", "ds": pd.date_range("2010-01-01", periods=len(y), freq="MS"),
                                    "y": y}))
    return pd.concat(frames, ignore_index=True)


def make_fixtures() -> dict[str, str]:
    """The README's placeholder files, from real series; their paths relative to the checkout."""
    from statsmodels.datasets import elec_equip

    FIXTURES.mkdir(parents=True, exist_ok=True)
    elec = elec_equip.load_pandas().data.iloc[:, 0]
    pd.DataFrame({"date": elec.index.strftime("%Y-%m-%d"), "sales": elec.to_numpy()}).to_csv(FIXTURES / "my.csv", index=False)
    m1_monthly(144, 400, 10).to_csv(FIXTURES / "long.csv", index=False)
    sales = m1_monthly(48, 150, 20)
    sales.to_parquet(FIXTURES / "sales.parquet", index=False)
    sales.to_csv(FIXTURES / "sales.csv", index=False)
    return {name: str((FIXTURES / name).relative_to(ROOT)) for name in ("my.csv", "long.csv", "sales.parquet", "sales.csv")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", type=int, help="example numbers (1-based) to run")
    parser.add_argument("--out", type=Path, default=ROOT / "scripts" / "results" / "readme_examples.md")
    args = parser.parse_args()
    paths = make_fixtures()
    exe = str(Path(sys.executable).with_name("growlstm"))
    rows = []
    for number, command in enumerate(COMMANDS, 1):
        if args.only and number not in args.only:
            continue
        argv = [exe if word == "growlstm" else word for word in shlex.split(command)]
        argv = [replace_paths(word, paths) for word in argv]
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        # One series: "recommended: ..."; a global run: "recommended for every series: ..."; a sweep: "[job] ...".
        recommended = [line for line in lines if line.startswith(("recommended", "[")) and "recommended" in line]
        last = recommended[-1] if recommended else (lines[-1] if lines else "")
        ok = done.returncode == 0 and (bool(recommended) or "--help" in command)
        rows.append((number, command, done.returncode, seconds, "yes" if ok else "NO", last.strip()))
        print(f"{number:2d} {'ok ' if ok else 'BAD'} exit {done.returncode} {seconds:6.0f}s  {command}\n     {last.strip()}", flush=True)
    # --only reruns some: the others keep their rows from the last run.
    csv = args.out.with_suffix(".csv")
    done = pd.DataFrame(rows, columns=["number", "command", "exit", "seconds", "passes", "last"])
    if args.only and csv.exists():
        done = pd.concat([pd.read_csv(csv, keep_default_na=False).query("number not in @done.number"), done])
    done = done.sort_values("number")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done.to_csv(csv, index=False)
    rows = list(done.itertuples(index=False, name=None))
    table = ["| # | command | exit | seconds | passes | last line |", "|---|---|---|---|---|---|"]
    table += [f"| {n} | `{c}` | {rc} | {s:.0f} | {ok} | {last.replace('|', '/')} |" for n, c, rc, s, ok, last in rows]
    text = "# README examples, run as shown\n\n" + "\n".join(table) + "\n"
    args.out.write_text(text)
    print(text)
    if any(ok != "yes" for *_, ok, _ in rows):
        raise SystemExit(1)


def replace_paths(word: str, paths: dict[str, str]) -> str:
    """``data.path=my.csv`` -> ``data.path=outputs/readme/my.csv`` (the fixture)."""
    key, sep, value = word.partition("=")
    return f"{key}={paths[value]}" if sep and key == "data.path" and value in paths else word


if __name__ == "__main__":
    main()
