"""Training overhead: the growth loop's training vs a plain PyTorch loop, stage start-up,
packed seeds.

Same model, data, batch order, optimiser and clipping in every loop; each runs a fixed number
of epochs (no early stopping) with one validation pass per epoch, on one CPU thread. Two
Lightning paths are timed: the growth loop's (each epoch one Lightning step, the module steps
through the minibatches) and Lightning's own per-minibatch loop (automatic optimisation, what
DDP uses); both give the same weights.

    python scripts/bench_overhead.py                      # co2 and M4-M1, widths [6] and [8, 2]
    python scripts/bench_overhead.py --epochs 10 --repeats 1

Prints a table and writes scripts/results/bench_overhead.md. Ratios are measured within one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench/ harness
import growlstm  # noqa: E402
from growlstm.config import Config, DataConfig, ModelConfig, TrainerConfig  # noqa: E402
from growlstm.model import LSTMStack  # noqa: E402
from growlstm.growth.preparation import prepare  # noqa: E402
from growlstm.train.fit import fit_candidate  # noqa: E402
from growlstm.train.packed import fit_seeds  # noqa: E402
from growlstm.train.loaders import batch_loader  # noqa: E402
from bench.data import RESULTS, load_m4  # noqa: E402
from bench.table import header  # noqa: E402


class Clock(pl.Callback):
    """Wall times of training start and of each epoch's start and end."""

    def __init__(self, called_at: float) -> None:
        self.called_at, self.train_start, self.epoch_starts, self.epoch_ends = called_at, 0.0, [], []

    def on_train_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.train_start = time.perf_counter()

    def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.epoch_starts.append(time.perf_counter())

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.epoch_ends.append(time.perf_counter())  # after the epoch's validation (it runs first)

    def per_epoch(self) -> float:
        return statistics.median(e - s for s, e in zip(self.epoch_starts[1:], self.epoch_ends[1:]))


def plain_loop(win, widths: list[int], trainer: TrainerConfig, epochs: int, seed: int) -> float:
    """Median seconds per epoch of a hand-written loop doing the same work."""
    torch.manual_seed(seed)
    net = LSTMStack(win.n_inputs, widths, win.h)
    opt = torch.optim.Adam(net.parameters(), lr=trainer.lr)
    x, y = win.inputs(win.train_origins), win.targets(win.train_origins)
    xv, yv = win.inputs(win.stop_origins), win.targets(win.stop_origins)
    loader = batch_loader(x, y, trainer.batch_size, seed)  # the loader the Lightning path uses
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        net.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(net(xb), yb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), trainer.grad_clip)
            opt.step()
        net.eval()
        with torch.no_grad():
            torch.nn.functional.mse_loss(net(xv), yv)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_overhead.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    m4 = {s.uid: s for s in load_m4(("m4_monthly",))}
    datasets = {"co2": growlstm.load(DataConfig(name="co2"))}
    datasets["M4-M1"] = growlstm.from_values(m4["M4-M1"].values, season_length=12, name="M4-M1")
    trainer = TrainerConfig(max_epochs=args.epochs, early_stopping_patience=10**6, batch_size=32)
    rows = []
    for name, data in datasets.items():
        config = Config(h=18)
        _, win = prepare(data, config)
        for widths in ([6], [8, 2]):
            plain, light, stepwise, startup, packed = [], [], [], [], []
            for r in range(args.repeats):
                plain.append(plain_loop(win, widths, trainer, args.epochs, r))
                clock = Clock(time.perf_counter())
                fit_candidate(win, widths, ModelConfig(), trainer, r, callbacks=[clock])
                light.append(clock.per_epoch())
                startup.append(clock.train_start - clock.called_at)
                clock_steps = Clock(time.perf_counter())
                fit_candidate(win, widths, ModelConfig(), trainer, r, callbacks=[clock_steps], per_step=True)
                stepwise.append(clock_steps.per_epoch())
                clock3 = Clock(time.perf_counter())
                fit_seeds(win, widths, ModelConfig(), trainer, [r, r + 1, r + 2], callbacks=[clock3])
                packed.append(clock3.per_epoch())
            p, l, w, s, k = (statistics.median(v) for v in (plain, light, stepwise, startup, packed))
            rows.append((name, widths, len(win.train_origins), p * 1000, l * 1000, l / p, w * 1000, w / p,
                         s, k * 1000, k / l))
    columns = ("| series | widths | windows | plain ms/epoch | growth loop ms/epoch | growth loop / plain | "
              "Lightning per-step ms/epoch | per-step / plain | stage start-up s | 3 packed seeds ms/epoch | "
              "3 packed seeds / 1 seed |")
    lines = [columns, "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, widths, n, p, l, ratio, w, wratio, s, k, kratio in rows:
        lines.append(f"| {name} | {widths} | {n} | {p:.1f} | {l:.1f} | {ratio:.2f} | {w:.1f} | {wratio:.2f} | "
                     f"{s:.3f} | {k:.1f} | {kratio:.2f} |")
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "\n".join(header("Training overhead")) + "Targets (issue 3): Lightning / plain <= 1.2 per epoch; stage start-up < 0.2 s; "
        "three seeds together <= 1.5x one seed.\n\n"
        "The growth loop runs under Lightning's Trainer with each epoch as one Lightning step (the module "
        "steps through the minibatches: `growlstm.train.module.run_epoch`); 'Lightning per-step' is Lightning's own "
        "loop, one step per minibatch (automatic optimisation; the DDP path). Both give identical weights. "
        "Start-up: from the call to the first epoch (Trainer construction included).\n\n"
        f"{args.epochs} epochs, "
        f"median of {args.repeats} repeats, batch {trainer.batch_size}, one CPU thread.\n\n" + table + "\n"
    )
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
