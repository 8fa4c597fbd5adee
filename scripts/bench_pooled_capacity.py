"""Does capacity pay on pooled short series? Fixed widths of the one global network on M1.

    python scripts/bench_pooled_capacity.py                       # the three M1 subsets, both treatments
    python scripts/bench_pooled_capacity.py --subsets m1_quarterly --widths 2 4 8 16 32 64
    python scripts/bench_pooled_capacity.py --subsets m1_monthly m1_quarterly --residuals ets --widths 2 8 64 --out DIR
    python scripts/bench_pooled_capacity.py --subsets m1_monthly m1_quarterly --residuals ets --base-input off
    python scripts/bench_pooled_capacity.py --subsets m1_monthly --residuals ets --widths 2 8 32 --trainer lr=0.001
    python scripts/bench_pooled_capacity.py --subsets m1_monthly --residuals ets --widths 2 16 32 --trainer lr_schedule=plateau scale=true
    python scripts/bench_pooled_capacity.py --subsets m1_monthly m1_quarterly --residuals ets --widths 2 8 32 --series-id
    python scripts/bench_pooled_capacity.py --subsets m1_monthly --residuals ets --widths 2 2,2 8,8 --model dropout=0.3
    python scripts/bench_pooled_capacity.py --subsets m1_monthly --residuals ets --widths 2 8 32 --input-size 36
    python scripts/bench_pooled_capacity.py --subsets m1_monthly --residuals ets --widths 2 32 64,64 --curve 60

Why: on pooled M1 the growth search accepts no widening (every stage within the seed noise of
[2]). This measures, without the search, whether a wider network validates better at all: each
width is trained from fresh weights (3 seeds, the default trainer) on the same pooled windows
that ``growth.scope=global`` builds, for the Theta residual treatment (the network corrects each
series' Theta forecast), the ETS one (``--residuals ets``, the pooled default since) and
``model.residual=null`` (the network forecasts alone, from each window's last value). With a
base, the network reads the base's forecast as inputs (``model.base_input``, the pooled default;
``--base-input off``: it does not, the residual label then has no ``+ input``; the committed
tables before that option are the runs without it). The row
``base only`` is a network that outputs zero: the base's own forecast, or the last value repeated. Scores are the set-level validation MASE (the
growth search's metric: the mean over series of each series' mean over its validation origins);
no test span is read. A width ``8,8`` is a stack of two layers. ``--curve E`` asks instead whether
the wider networks can fit more at all: each trains E epochs without early stopping (the default
trainer's optimiser, batch size, clipping and loss, one seed) and the table gives the training and
early-stopping loss every 10 epochs. ``--base-role feature`` (an experiment, not a growlstm option):
the network reads the base's forecast as inputs but is not added to it; its targets are measured
from each window's last value, as without a base, so it must learn the whole forecast. Training runs on one torch thread (the `seconds` column; a real global
run trains stages of 16+ cells on `growth.workers` threads).

Writes <out>/bench_pooled_capacity.csv and <out>/bench_pooled_capacity.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench/ harness
from bench.data import M1_SUBSETS, RESULTS, subset_data  # noqa: E402
from bench.run import parse_settings  # noqa: E402
from bench.table import markdown, write  # noqa: E402


def base_only(pooled: Any) -> float:
    """Set-level validation MASE of a network whose output is zero: the reference alone."""
    from growlstm.baselines.backtesting import mean_scores, score_at

    per = [mean_scores([score_at(w, int(o), w.to_units(int(o), np.zeros(w.h))) for o in w.val_origins])
           for w in pooled.series]
    return float(np.mean([p["mase"] for p in per]))


def setting(key: str, value: Any) -> str:
    """``, key=value`` for the residual label (numbers in short form)."""
    return f", {key}={value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else f", {key}={value}"


def parse_widths(text: str) -> list[int]:
    """``8`` or ``8,8`` (a stack) as a list of cells per layer."""
    try:
        widths = [int(w) for w in text.split(",")]
    except ValueError:
        raise SystemExit(f"--widths wants cells per layer such as 8 or 8,8, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise SystemExit(f"--widths wants positive cells per layer, got {text!r}")
    return widths


def loss_curve(pooled: Any, config: Any, widths: list[int], epochs: int) -> dict[str, Any]:
    """Training and early-stopping loss every 10 epochs of one seed trained without early
    stopping: whether a wider network can fit the training windows better at all."""
    import torch

    from growlstm.train.loaders import batch_size_for
    from growlstm.train.module import LOSSES
    from growlstm.train.fit import new_module

    x, y = pooled.gather(pooled.train_pos)
    xs, ys = pooled.gather(pooled.stop_pos)
    module = new_module(pooled, widths, config.model, config.trainer, config.seed)
    loss_fn = LOSSES[config.trainer.loss]()
    optimiser = torch.optim.Adam(module.parameters(), lr=config.trainer.lr, weight_decay=config.trainer.weight_decay)
    size = batch_size_for(config.trainer, len(x))
    generator = torch.Generator().manual_seed(config.seed)
    points = {}
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), size):
            batch = order[start:start + size]
            optimiser.zero_grad()
            loss_fn(module(x[batch]), y[batch]).backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), config.trainer.grad_clip)
            optimiser.step()
        if epoch == 1 or epoch % 10 == 0:
            module.eval()  # no dropout while scoring
            with torch.no_grad():
                points[epoch] = (float(loss_fn(module(x), y)), float(loss_fn(module(xs), ys)))
            module.train()
    return {"curve": " ".join(f"{e}: {t:.3f}/{s:.3f}" for e, (t, s) in points.items())}


def base_as_feature() -> None:
    """``--base-role feature``: targets and forecasts measured from each window's last value while
    the inputs keep the base's forecast (patched here for the experiment; growlstm adds the
    network's output to the base whenever it has one)."""
    import torch

    from growlstm.data.windows import SeriesWindows
    from growlstm.train.pooled_windows import PooledWindows

    base_reference = PooledWindows.reference

    def gather(self: PooledWindows, pos: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        unit, level = self.spread(pos), self.level(pos)
        y = (self.z[pos[:, None] + np.arange(self.h)[None, :], 0] - level[:, None]) / unit[:, None]
        return self.inputs(pos, unit, base_reference(self, pos)), torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))

    def to_units(self: SeriesWindows, origin: int, output: np.ndarray) -> np.ndarray:
        out = np.asarray(output, dtype=float) * self.spread([origin])[0]
        return self.scaler.inverse_target(out + self.level([origin])[0])

    PooledWindows.gather = gather  # type: ignore[method-assign]
    SeriesWindows.to_units = to_units  # type: ignore[method-assign]


def series_spread(ratio: np.ndarray) -> dict[str, float]:
    """Per series, a width's validation MASE (mean over seeds) over the first width's: best,
    median, 80th percentile, worst, and the share of series it validates better on. The set-level mean
    growth decides on can hide series where width helps or hurts much."""
    return {"series_best": float(ratio.min()), "series_median": float(np.median(ratio)), "series_p80": float(np.quantile(ratio, 0.8)),
            "series_worst": float(ratio.max()), "series_better": float((ratio < 1).mean())}


def run(subset: str, residual: str | None, widths: list[list[int]], seeds: int, base_input: bool,
        trainer: dict[str, Any], series_id: bool = False, model: dict[str, float] | None = None,
        lookback: int | None = None, curve: int = 0, base_role: str = "residual") -> list[dict]:
    import growlstm
    from growlstm.config import Config
    from growlstm.growth.policy import capacity_cap
    from growlstm.model import count_params
    from growlstm.runs.pooled import PooledEvaluator, series_windows
    from growlstm.train.pooled_windows import PooledWindows, pool_feature_scaling

    data, h = subset_data(subset)
    panel = growlstm.load(data)
    config = Config(data=data, h=h, input_size=lookback)
    config = replace(config, model=replace(config.model, residual=residual, base_input=base_input,
                                                      series_id=series_id, **(model or {})),
                     growth=replace(config.growth, seeds=seeds), trainer=replace(config.trainer, **trainer))
    wins, _, h, input_size = series_windows(panel, config)
    pooled = PooledWindows.build(pool_feature_scaling(wins), series_id=series_id)
    cap = capacity_cap(pooled.n_samples, pooled.n_inputs, h, config.growth.alpha)
    label = (residual or "none") + (" + input" if pooled.base_input else "") + (" + series id" if series_id else "")
    label = label.replace(" + input", " as input only") if base_role == "feature" else label
    label += "".join(setting(k, v) for k, v in (trainer | (model or {})).items())
    label += f", input_size={lookback}" if lookback else ""
    common = {"subset": subset, "residual": label, "series": len(wins), "train_windows": len(pooled.train_pos),
              "cap": cap}
    rows = [common | {"widths": "base only", "params": 0, "val_mase": base_only(pooled)}]
    print(f"{subset} residual={label}: {len(wins)} series, {len(pooled.train_pos)} training windows, cap {cap} cells; "
          f"base only {rows[0]['val_mase']:.3f}", flush=True)
    evaluator = PooledEvaluator.for_run(pooled, config, None)
    first: np.ndarray | None = None  # per-series validation MASE of the first width: what the others are measured against
    for stack in widths:
        start = time.perf_counter()
        if curve:
            row = common | {"widths": str(stack), "params": count_params(pooled.n_inputs, stack, h),
                            **loss_curve(pooled, config, stack, curve), "seconds": time.perf_counter() - start}
            rows.append(row)
            print(f"  {stack} training/early-stopping loss by epoch {row['curve']}  {row['seconds']:.0f}s", flush=True)
            continue
        out = evaluator(0, stack, None)  # fresh weights: no warm-growth path in the way
        vals = [s.val["mase"] for s in out.seeds]
        per_series = np.mean([[m["mase"] for m in pooled.scores_of(s.forecasts, "val")] for s in out.seeds], axis=0)
        first = per_series if first is None else first
        row = common | series_spread(per_series / first) | {
            "widths": str(stack), "params": count_params(pooled.n_inputs, stack, h),
            "val_mase": float(np.mean(vals)), "val_sd": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
            "train_loss": float(np.mean([s.train_loss for s in out.seeds])),
            "stop_loss": float(np.mean([s.val_loss for s in out.seeds])),
            "kept_epochs": "/".join(str(s.kept_epochs) for s in out.seeds),
            "seconds": time.perf_counter() - start,
        }
        rows.append(row)
        print(f"  {stack} val MASE {row['val_mase']:.3f} ± {row['val_sd']:.3f}  train loss {row['train_loss']:.3f}  "
              f"stop loss {row['stop_loss']:.3f}  kept epochs {row['kept_epochs']}  {row['seconds']:.0f}s", flush=True)
    return rows


def report(table: pd.DataFrame) -> list[str]:
    """The markdown table of the runs."""
    text = ["Set-level validation MASE (mean and sd over seeds, fresh weights each), training and early-stopping "
            "loss (scaled targets, at the kept weights), kept epochs per seed. `base only`: the network's output "
            "at zero (the base's forecast: Theta's or ETS's, or the last value repeated). No test span is read. "
            "`series_*`: per series, the validation MASE (mean over seeds) over the first width's: best, median, "
            "80th percentile, worst, and the share of series that validate better.", ""]
    cols = ["subset", "residual", "widths", "params", "val_mase", "val_sd", "train_loss", "stop_loss", "kept_epochs",
            "seconds", "train_windows", "cap"]
    if "series_median" in table:  # per series, over the first width listed
        cols[6:6] = ["series_best", "series_median", "series_p80", "series_worst", "series_better"]
    if "curve" in table:  # --curve: no early stopping, so no validation score
        cols = ["subset", "residual", "widths", "params", "curve", "seconds", "train_windows"]
    return text + markdown(table, cols)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subsets", nargs="+", default=list(M1_SUBSETS), choices=list(M1_SUBSETS))
    parser.add_argument("--residuals", nargs="+", default=["theta", "none"], choices=["theta", "ets", "none"])
    parser.add_argument("--widths", nargs="+", type=parse_widths, default=[[2], [8], [32], [64]],
                        help="cells per layer of each network, e.g. 2 8 32 or 2,2 8,8 (stacks)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--base-input", choices=["on", "off"], default="on",
                        help="the base forecast as inputs (model.base_input; on: the pooled default)")
    parser.add_argument("--series-id", action="store_true",
                        help="each series' identity as one-hot inputs (model.series_id; it widens N_i, so the cap falls)")
    parser.add_argument("--trainer", nargs="+", default=[], metavar="KEY=VALUE",
                        help="trainer settings other than the defaults, e.g. lr=0.001 weight_decay=1e-4 "
                             "lr_schedule=onecycle scale=true")
    parser.add_argument("--model", nargs="+", default=[], metavar="KEY=VALUE",
                        help="model settings other than the defaults, e.g. dropout=0.3 (between stacked layers)")
    parser.add_argument("--input-size", type=int, default=None, help="the lookback (input_size; default: the run's)")
    parser.add_argument("--curve", type=int, default=0, metavar="EPOCHS",
                        help="train one seed EPOCHS epochs without early stopping and report the loss curves instead")
    parser.add_argument("--base-role", choices=["residual", "feature"], default="residual",
                        help="residual: the network corrects the base (growlstm); feature: it reads the base's forecast "
                             "as inputs only and forecasts from the last value (an experiment)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    import logging

    import torch

    logging.getLogger("growlstm").setLevel(logging.WARNING)
    torch.set_num_threads(1)  # as the global scope trains (one_torch_thread)
    if args.base_role == "feature":
        base_as_feature()
    rows = []
    for subset in args.subsets:
        for residual in args.residuals:
            rows += run(subset, None if residual == "none" else residual, args.widths, args.seeds,
                        args.base_input == "on", parse_settings(args.trainer, "--trainer"), args.series_id,
                        parse_settings(args.model, "--model"), args.input_size, args.curve, args.base_role)
    table = pd.DataFrame(rows)
    write(args.out, "bench_pooled_capacity", "Capacity on pooled M1: fixed widths of the global network",
          report(table), table)

if __name__ == "__main__":
    main()
