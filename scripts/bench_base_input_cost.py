"""What reading the base forecast costs a pooled network: at every step (format 1) or at the last.

    python scripts/bench_base_input_cost.py                          # M1 monthly and M4 hourly, [2] and [8]
    python scripts/bench_base_input_cost.py --subsets m4_hourly --widths 2 8 32 --epochs 3

With ``model.base_input`` (the pooled default) the network reads its base's h-step forecast.
Until growlstm's forecaster.pt format 2 those h values were repeated at each of the
``input_size`` steps of every window (h = 48 and 96 steps on M4 hourly); now they enter the
first layer once, at the last step (``LSTMStack``'s last-step inputs), which computes what the
old network computes when the base columns are zero before the last step. This times both on
the same pooled windows that ``growth.scope=global`` builds (the subset's series, the default
config, the ETS base), in one process, interleaved: the seeds of one stage trained together as
a search trains them (``fit_seeds``, 3 seeds, one torch thread), for a fixed number of epochs
(no early stopping, so both layouts do the same work). Format 1 is reproduced by patching the
windows to be built as they were (``format1_inputs``) and the network to read every step.
Since format 2 the windows are also built in one array (``windows.window_inputs``), not one
array per step of the assembly; the timings include that.

Writes <out>/bench_base_input_cost.csv and <out>/bench_base_input_cost.md.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench/ harness
from bench.data import M1_SUBSETS, M4_SUBSETS, RESULTS, subset_data  # noqa: E402
from bench.table import markdown, write  # noqa: E402

LAYOUTS = ("every step", "last step")


def pooled_windows(subset: str) -> tuple[Any, Any]:
    """The subset's pooled windows and config, as a default global run builds them."""
    import growlstm
    from growlstm.config import Config
    from growlstm.runs.pooled import series_windows
    from growlstm.train.pooled_windows import PooledWindows, pool_feature_scaling

    data, h = subset_data(subset)
    config = Config(data=data, h=h)
    wins, _, _, _ = series_windows(growlstm.load(data), config)
    return PooledWindows.build(pool_feature_scaling(wins)), config


def format1_inputs(self: Any, pos: np.ndarray, unit: Any = None, reference: Any = None) -> Any:
    """``PooledWindows.inputs`` as format 1 built them: the base repeated at every step, then
    the padded steps zeroed and the mask appended, one array after another."""
    import torch

    assert not self.series_id, "the comparison runs without model.series_id"
    idx, real = self.window_steps(pos)
    x = self.z[idx]
    unit = self.spread(pos, (idx, real)) if unit is None else unit
    level = self.level(pos)
    x[:, :, 0] = (x[:, :, 0] - level[:, None]) / unit[:, None]
    if self.base_input:
        reference = self.reference(pos) if reference is None else reference
        base = (reference - level[:, None]) / unit[:, None]
        x = np.concatenate([x, np.repeat(base[:, None, :].astype(x.dtype), x.shape[1], axis=1)], axis=2)
    if self.pad:
        x = np.where(real[:, :, None], x, 0.0).astype(x.dtype, copy=False)
        x = np.concatenate([x, real[:, :, None].astype(x.dtype)], axis=2)
    return torch.from_numpy(x)


@contextlib.contextmanager
def every_step() -> Iterator[None]:
    """Format 1: windows built as ``format1_inputs``, and a network that reads every column at
    every step (no last-step inputs)."""
    from growlstm.train.pooled_windows import PooledWindows

    saved = PooledWindows.inputs, PooledWindows.last_inputs
    PooledWindows.inputs = format1_inputs  # type: ignore[method-assign]
    PooledWindows.last_inputs = property(lambda self: [])  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        PooledWindows.inputs, PooledWindows.last_inputs = saved  # type: ignore[method-assign]


def time_stage(pooled: Any, config: Any, widths: list[int], epochs: int, seeds: int) -> float:
    """Seconds per epoch of one stage's seeds trained together for ``epochs`` epochs."""
    from growlstm.train.packed import fit_seeds

    start = time.perf_counter()
    fit_seeds(pooled, widths, config.model, config.trainer, list(range(seeds)), epochs=[epochs] * seeds)
    return (time.perf_counter() - start) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subsets", nargs="+", default=["m1_monthly", "m4_hourly"],
                        choices=[*M1_SUBSETS, *M4_SUBSETS])
    parser.add_argument("--widths", nargs="+", type=int, default=[2, 8])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2, help="timings per layout (interleaved); the best is kept")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)  # what a search's narrow stages use (runs.shared.training_threads)
    rows = []
    for subset in args.subsets:
        pooled, config = pooled_windows(subset)
        print(f"{subset}: {len(pooled.series)} series, {len(pooled.train_pos)} training windows, "
              f"input_size {pooled.input_size}, h {pooled.h}", flush=True)
        time_stage(pooled, config, [args.widths[0]], 1, args.seeds)  # warm-up: first-call costs, untimed
        for width in args.widths:
            times: dict[str, list[float]] = {layout: [] for layout in LAYOUTS}
            for r in range(args.repeats):
                for layout in LAYOUTS if r % 2 == 0 else LAYOUTS[::-1]:  # neither always goes first
                    with every_step() if layout == "every step" else contextlib.nullcontext():
                        times[layout].append(time_stage(pooled, config, [width], args.epochs, args.seeds))
            best = {layout: min(t) for layout, t in times.items()}
            row = {"subset": subset, "widths": f"[{width}]", "series": len(pooled.series),
                   "train_windows": len(pooled.train_pos), "input_size": pooled.input_size, "h": pooled.h,
                   "s_per_epoch_every_step": best["every step"], "s_per_epoch_last_step": best["last step"],
                   "speedup": best["every step"] / best["last step"]}
            rows.append(row)
            print(f"  [{width}] every step {row['s_per_epoch_every_step']:.2f} s/epoch, last step "
                  f"{row['s_per_epoch_last_step']:.2f} s/epoch: {row['speedup']:.2f}x", flush=True)
    table = pd.DataFrame(rows)
    lines = [f"Seconds per training epoch of one stage ({args.seeds} seeds trained together, one torch thread, "
             f"{args.epochs} epochs, best of {args.repeats} timings alternating which layout goes first, after an untimed warm-up), on the pooled windows of a "
             "default global run. `every step`: format 1 (the base's h values repeated at each input step); "
             "`last step`: the committed layout.", ""]
    write(args.out, "bench_base_input_cost", "The base forecast as input: read at every step or at the last",
          lines + markdown(table, digits=2), table)


if __name__ == "__main__":
    main()
