"""Refit before forecasting: the chosen network retrained on all the data before its origin.

The search trains on the data before its early-stopping slice and validation span, so on a
short series the last 30-50% of the points never train the networks it compares. Once the
size is chosen, it no longer needs those spans kept apart: the chosen stage is retrained, seed
by seed, on every window whose targets lie before the forecast origin, with the scaler and the
residual base fitted on that data too. Nothing decides when to stop (no data is left to judge
it), so the training length comes from the search: each stage on the chosen stage's growth path
(its parent chain under warm growth) trains for the epochs its early stopping kept, then grows
to the next stage exactly as the search grew it (a seed the search restarted afresh, being a
lagging seed, restarts there too).

A refit at the first test origin gives the test scores (what the refitted forecast is worth);
a refit at the end of the data gives ``forecast.csv``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Sequence

from growlstm.config import Config
from growlstm.train.evaluator import grown_states, seed_parent_nets
from growlstm.train.module import LSTMForecaster
from growlstm.baselines.residual import with_classical_base
from growlstm.train.packed import fit_seeds
from growlstm.data.windows import SeriesWindows

if TYPE_CHECKING:
    from growlstm.records.results import StageRecord


def growth_path(stages: Sequence["StageRecord"], chosen: int) -> list["StageRecord"]:
    """The stages the chosen one was grown through, root first (itself alone when cold)."""
    path = [stages[chosen]]
    while path[-1].parent is not None and path[-1].init == "warm":
        path.append(stages[path[-1].parent])
    return path[::-1]


def stage_epochs(record: "StageRecord", seeds: int) -> list[int]:
    """Epochs each seed trained to its kept weights in the search (a refit trains as long)."""
    if len(record.kept_epochs) == seeds:
        return [max(1, int(e)) for e in record.kept_epochs]
    return [max(1, round(record.epochs))] * seeds  # a record written before kept_epochs existed


def recut(win: SeriesWindows, origin: int) -> SeriesWindows:
    """``win`` for a refit at ``origin``: training targets up to it, scaler and residual base
    fitted on the data before it, no early-stopping slice (its validation and test origins stay,
    to be forecast)."""
    from growlstm.data.windows import Scaler

    raw = win.z * win.scaler.std + win.scaler.mean
    raw[:, 0] = win.y
    scaler = Scaler.fit(raw[:origin])
    cut = win.with_cut(z=scaler.transform(raw), scaler=scaler, n_train=origin, train_end=origin)
    if not win.base_name:
        return cut
    if origin == win.n_train and win.base_raw is not None:  # fitted on exactly this data already
        return cut.with_base(win.base_raw, win.base_name)
    return with_classical_base(cut, win.base_name)


def recut_at(win: SeriesWindows, origins: Sequence[int]) -> tuple[SeriesWindows, ...]:
    """``win`` recut at each of ``origins`` (a worker's job)."""
    return tuple(recut(win, o) for o in origins)


class RefitFailure(RuntimeError):
    """The refit failed twice (e.g. a non-finite loss): the searched networks forecast instead."""


def refit(win: Any, path: Sequence["StageRecord"], config: Config) -> list[LSTMForecaster]:
    """Retrain the chosen stage along ``path`` on ``win``'s training windows (one series, or
    ``PooledWindows`` of recut series); one network per seed, in seed order.

    As in the search, a failed training is retried once with the learning rate divided by 10."""
    trainer = config.trainer
    for attempt in range(2):
        try:
            return _refit(win, path, config, trainer)
        except Exception as err:  # noqa: BLE001 - any training fault: retry slower, then give up
            if attempt:
                raise RefitFailure(f"{type(err).__name__}: {err} (also with lr={trainer.lr:g})") from err
            trainer = replace(trainer, lr=trainer.lr / 10)
    raise AssertionError("unreachable")


def _refit(win: Any, path: Sequence["StageRecord"], config: Config, trainer: Any) -> list[LSTMForecaster]:
    g = config.growth
    seeds = [config.seed + k for k in range(g.seeds)]
    nets: list[Any] | None = None
    fits: list[Any] = []
    for record in path:
        inits = None
        if nets is not None:  # each seed grows from the parent seed it grew from in the search
            parents = seed_parent_nets(nets, record.seed_parents)
            inits = grown_states(parents, record.widths, seeds, g.split_noise, g.shrink, g.perturb)
        model = config.model if record.lookback is None else replace(config.model, lookback=record.lookback)
        fits = fit_seeds(win, record.widths, model, trainer, seeds, verbose=config.verbose,
                         init_states=inits, epochs=stage_epochs(record, len(seeds)))
        nets = [f.module.net for f in fits]
    return [f.module for f in fits]
