"""Run the default growth search on built-in datasets; print a table and write it to a file.

    python scripts/bench_growth.py                         # co2 and sunspots, defaults
    python scripts/bench_growth.py --datasets nile elec_equip --out outputs/bench.md

Each run's records go to outputs/bench_growth/<dataset>/. Wall time includes the baselines.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench/ harness
import pandas as pd  # noqa: E402

import growlstm  # noqa: E402
from growlstm.config import Config, DataConfig  # noqa: E402
from bench.data import RESULTS  # noqa: E402
from bench.table import header, markdown  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["co2", "sunspots"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_growth.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    rows = []
    for name in args.datasets:
        config = Config(data=DataConfig(name=name), seed=args.seed)
        start = time.perf_counter()
        result = growlstm.grow(growlstm.load(config.data), config, run_dir=Path("outputs/bench_growth") / name)
        wall = time.perf_counter() - start
        chosen = result.chosen_stage
        best = result.baselines[result.goal.baseline] if result.goal.baseline else None
        rows.append(
            {
                "dataset": name,
                "stages": " ".join(
                    f"{s.action[0]}{s.widths}".replace(" ", "") for s in result.stages
                ),
                "stop": result.stop_reason,
                "chosen": str(chosen.widths if chosen else None).replace(" ", ""),
                "params": chosen.params if chosen else "",
                "lstm val MASE": f"{chosen.val['mase']:.3f}" if chosen else "",
                "lstm test MASE": f"{result.chosen_test.get('mase', float('nan')):.3f}",
                "best baseline": f"{result.goal.baseline} ({best.spec})" if best else "",
                "baseline val MASE": f"{best.val['mase']:.3f}" if best else "",
                "baseline test MASE": f"{best.test.get('mase', float('nan')):.3f}" if best else "",
                "goal met val/test": f"{result.goal_met('val')}/{result.goal_met('test')}",
                "wall s": f"{wall:.1f}",
            }
        )
    table = "\n".join(markdown(pd.DataFrame(rows)))
    print("\n" + table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "\n".join(header("Default growth search on built-in datasets")) +
        "Stages: s = start, w = widen, d = deepen, with the widths trained.\n\n" + table + "\n"
    )
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
