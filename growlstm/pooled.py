"""Global scope: one LSTM trained on the windows of many series, grown with the same recipe.

Each series keeps its own split, origins and training-only scaler (``SeriesWindows``); every
window is measured from its own level (``model.input_norm``), so series of different scales
share one network. Windows are gathered batch by batch from one float32 array of all series
(no window tensor is ever materialised), which bounds memory for thousands of series.
Decisions use the set-level validation metric: the mean over series of each series' metric
(itself the mean over its validation origins). Baselines stay per series.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
import torch

from growlstm import data as data_mod
from growlstm.config import Config, check_config
from growlstm.errors import InputError
from growlstm.evaluate import BaselineResult, LSTMEvaluator, SeedOutcome, mean_scores, run_baseline, score_at
from growlstm.goal import CarryOver, Goal, carry_over, make_goal
from growlstm.many import ManyResult, _quiet_worker, mark_many, report_skipped, series_config, split_panel, worker_count, write_many
from growlstm.module import LSTMForecaster
from growlstm.policy import CapFn
from growlstm.progress import progress
from growlstm.setlevel import series_row
from growlstm.train import EVAL_CHUNK, FitResult, one_torch_thread
from growlstm.layout import plan as plan_layout
from growlstm.windows import SeriesWindows, default_h, default_input_size, masked_mean, pad_window

log = logging.getLogger("growlstm")
# model.series_id: one input per series, so the first layer's input weights (and the capacity
# rule's N_i) grow with the series count; past this, static features (data.features) scale.
SERIES_ID_MAX = 1000


class WindowSet(torch.utils.data.Dataset):
    """Windows at ``positions`` of a PooledWindows; ``ds[list_of_indices]`` gathers a batch."""

    def __init__(self, pooled: "PooledWindows", positions: np.ndarray) -> None:
        self.pooled, self.positions = pooled, positions

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, index: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.pooled.gather(self.positions[np.asarray(index)])


@dataclass
class PooledWindows:
    """The windows of many series for one network (duck-types what training needs of
    ``SeriesWindows``: ``n_inputs``, ``h``, ``input_size`` and the training/stop datasets)."""

    series: list[SeriesWindows]
    z: np.ndarray  # every series' scaled target and features, one after another, float32 (sum T, C)
    offsets: np.ndarray  # where each series starts in z
    train_pos: np.ndarray  # positions in z of every training origin
    stop_pos: np.ndarray  # ... and of every early-stopping origin
    h: int
    input_size: int
    norm: str
    # Residual treatment: each series' classical forecast from every origin (scaled), stacked
    # like z but with one more row per series (origins run 0..T); None: no base.
    base: Optional[np.ndarray] = None
    # model.series_id: one-hot inputs of each window's series, appended per batch (never stored).
    series_id: bool = False
    # Left-padded lookback (short series): steps before a window's series are zero and a mask
    # input flags the real ones (``windows.pad_window``).
    pad: bool = False

    @classmethod
    def build(cls, series: list[SeriesWindows], series_id: bool = False) -> "PooledWindows":
        first = series[0]
        sizes = np.array([len(w.y) for w in series], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        z = np.concatenate([w.z.astype(np.float32) for w in series])
        train = np.concatenate([off + w.train_origins for off, w in zip(offsets, series)]).astype(np.int64)
        stop = np.concatenate([off + w.stop_origins for off, w in zip(offsets, series)]).astype(np.int64)
        base = None
        if first.base is not None:
            # Rows o of series k sit at offsets[k] + k + o (one extra row per series before it).
            base = np.concatenate([w.base.astype(np.float32) for w in series])  # type: ignore[union-attr]
        pad = any(w.pad for w in series)
        return cls(series, z, offsets, train, stop, first.h, first.input_size, first.norm, base, series_id, pad)

    @property
    def n_inputs(self) -> int:
        return self.z.shape[1] + int(self.pad) + (len(self.series) if self.series_id else 0)

    def series_of(self, pos: np.ndarray) -> np.ndarray:
        """Index of the series each position belongs to. A position equal to the next series'
        offset is this series' origin past its end (the future forecast; no origin is ever 0)."""
        return np.searchsorted(self.offsets, pos, side="left") - 1

    @property
    def n_samples(self) -> int:
        """Distinct training targets of all series: N_s of the capacity rule for the one network."""
        return int(sum(w.n_samples for w in self.series))

    def window_steps(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions in z of each window's input steps, (N, input_size), and which of them lie in
        the window's own series (the others are padding: never read from the series before)."""
        idx = pos[:, None] + np.arange(-self.input_size, 0)[None, :]
        start = self.offsets[self.series_of(pos)]
        return np.maximum(idx, 0), idx >= start[:, None]

    def level(self, pos: np.ndarray) -> np.ndarray:
        """Scaled level each window is measured from (as ``SeriesWindows.level``)."""
        if self.norm == "last":
            return self.z[pos - 1, 0]
        if self.norm == "mean":
            idx, real = self.window_steps(pos)
            return masked_mean(self.z[idx, 0], real).astype(np.float32)
        return np.zeros(len(pos), dtype=np.float32)

    def inputs(self, pos: np.ndarray) -> torch.Tensor:
        idx, real = self.window_steps(pos)
        x = self.z[idx]
        x[:, :, 0] -= self.level(pos)[:, None]
        if self.pad:
            x = pad_window(x, real)
        elif not real.all():
            raise ValueError("a window starts before its series but the lookback is not padded")
        if self.series_id:
            ids = np.zeros((len(pos), self.input_size, len(self.series)), dtype=np.float32)
            ids[np.arange(len(pos)), :, self.series_of(pos)] = 1.0
            x = np.concatenate([x, ids], axis=2)
        return torch.from_numpy(x)

    def reference(self, pos: np.ndarray) -> np.ndarray:
        """What the network's output is added to (as ``SeriesWindows.reference``): (N, h)."""
        if self.base is None:
            return np.repeat(self.level(pos)[:, None], self.h, axis=1)
        # The series of each position shifts its base row by its index.
        return self.base[pos + self.series_of(pos)]

    def gather(self, pos: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, targets) of the windows with origins at ``pos``: (N, input_size, C), (N, h)."""
        y = self.z[pos[:, None] + np.arange(self.h)[None, :], 0] - self.reference(pos)
        return self.inputs(pos), torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))

    def datasets(self) -> tuple[WindowSet, WindowSet]:
        return WindowSet(self, self.train_pos), WindowSet(self, self.stop_pos)

    def forecasts(self, module: LSTMForecaster, origins: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Forecasts in each series' units from its ``origins[k]``: one (n_k, h) array per series.

        The origins of all series go through the network together, EVAL_CHUNK at a time.
        """
        counts = [len(o) for o in origins]
        pos = np.concatenate([off + np.asarray(o, dtype=np.int64) for off, o in zip(self.offsets, origins)])
        module.eval()
        outs = []
        with torch.no_grad():
            for start in range(0, len(pos), EVAL_CHUNK):
                outs.append(module(self.inputs(pos[start : start + EVAL_CHUNK])).numpy())
        out = np.concatenate(outs) if outs else np.zeros((0, self.h))
        result, at = [], 0
        for w, o, n in zip(self.series, origins, counts):
            result.append(np.stack([w.to_units(int(origin), out[at + j]) for j, origin in enumerate(o)]) if n else out[:0])
            at += n
        return result

    def ensemble_scores(self, modules: Sequence[LSTMForecaster], part: str) -> list[dict[str, float]]:
        """Per series: the metrics of the seeds' mean forecast (what forecast.csv delivers),
        averaged over its ``part`` (val or test) origins."""
        origins = self.origins(part)
        per_seed = [self.forecasts(m, origins) for m in modules]
        return [
            mean_scores([score_at(w, int(o), np.mean([f[k][j] for f in per_seed], axis=0)) for j, o in enumerate(orig)])
            for k, (w, orig) in enumerate(zip(self.series, origins))
        ]

    def scores(self, module: LSTMForecaster, part: str) -> list[dict[str, float]]:
        """Per series: its metrics averaged over its ``part`` (val or test) origins."""
        return self.scores_of(self.forecasts(module, self.origins(part)), part)

    def origins(self, part: str) -> list[np.ndarray]:
        return [w.val_origins if part == "val" else w.test_origins for w in self.series]

    def scores_of(self, forecasts: list[np.ndarray], part: str) -> list[dict[str, float]]:
        """``scores`` of forecasts already made at each series' ``part`` origins."""
        return [
            mean_scores([score_at(w, int(o), f) for o, f in zip(orig, fc)])
            for w, orig, fc in zip(self.series, self.origins(part), forecasts)
        ]


def pool_feature_scaling(series: list[SeriesWindows]) -> list[SeriesWindows]:
    """Feature columns standardised with one mean and std over every series' training data.

    The target keeps each series' own scaler (scales differ by orders of magnitude), but a
    per-series scaler would turn a static feature (constant within a series, e.g. a store's size
    or a category code) into zeros; pooled, it still tells the series apart.
    """
    if series[0].n_inputs == 1:
        return series
    raw = [w.z[:, 1:] * w.scaler.std[1:] + w.scaler.mean[1:] for w in series]
    train = np.concatenate([r[: w.n_train] for r, w in zip(raw, series)])
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    out = []
    for r, w in zip(raw, series):
        z = w.z.copy()
        z[:, 1:] = (r - mean) / std
        scaler = replace(w.scaler, mean=np.r_[w.scaler.mean[:1], mean], std=np.r_[w.scaler.std[:1], std])
        out.append(replace(w, z=z, scaler=scaler))
    return out


class PooledEvaluator(LSTMEvaluator):
    """Trains the one network per stage (seeds packed as for one series) and scores it on every
    series' validation origins; a seed's score is the mean over series."""

    def __init__(self, pooled: PooledWindows, *args: Any, **kwargs: Any) -> None:
        super().__init__(pooled, *args, **kwargs)  # type: ignore[arg-type]
        self.pooled = pooled

    def outcome(self, fit: FitResult, note: str = "") -> SeedOutcome:
        val = mean_scores(self.pooled.scores(fit.module, "val"))
        if not all(math.isfinite(v) for v in val.values()) or not math.isfinite(fit.train_loss):
            raise FloatingPointError(f"seed {fit.seed}: non-finite loss or forecast")
        return SeedOutcome(fit.seed, val, fit.train_loss, fit.val_loss, fit.epochs, fit.steps, fit.seconds, fit, note)


def fit_baselines(win: SeriesWindows, names: Sequence[str]) -> dict[str, BaselineResult]:
    """Every baseline of one series at its validation and test origins (a worker's job).

    Only validation scores enter the decisions; test scores are read at the end.
    """
    results = {name: BaselineResult(name) for name in names}
    for name, result in results.items():
        run_baseline(name, win, result, "val")
        run_baseline(name, win, result, "test")
    return results


def _fit_chunk(wins: list[SeriesWindows], names: list[str]) -> list[dict[str, BaselineResult]]:
    return [fit_baselines(w, names) for w in wins]


def all_baselines(wins: list[SeriesWindows], names: list[str], workers: int) -> list[dict[str, BaselineResult]]:
    """Baselines of every series, ``workers`` processes at a time, in chunks (few round trips)."""
    with progress(len(wins), "baselines") as bar:
        if workers == 1 or len(wins) < 2 * workers:
            out = []
            for w in wins:
                out.append(fit_baselines(w, names))
                bar.update(1)
            return out
        size = max(1, math.ceil(len(wins) / (workers * 4)))
        chunks = [wins[i : i + size] for i in range(0, len(wins), size)]
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_quiet_worker) as pool:
            futures = [pool.submit(_fit_chunk, chunk, list(names)) for chunk in chunks]
            for future in as_completed(futures):
                bar.update(len(future.result()))
            done = [future.result() for future in futures]  # in series order
    return [r for chunk in done for r in chunk]


def set_baselines(per_series: list[dict[str, BaselineResult]], names: Sequence[str]) -> dict[str, BaselineResult]:
    """Each baseline's set-level result: metrics averaged over the series (where it fitted)."""
    out = {}
    for name in names:
        ok = [b[name] for b in per_series if b[name].ok]
        failed = len(per_series) - len(ok)
        result = BaselineResult(name, spec=f"per series ({len(ok)} fitted)")
        if not ok:
            result.error = f"failed on every series (e.g. {per_series[0][name].error})" if per_series else "no series"
        else:
            result.val = mean_scores([b.val for b in ok])
            result.test = mean_scores([b.test for b in ok if b.test])
            if failed:
                result.spec += f", failed on {failed}"
        out[name] = result
    return out


def needs_padding(panel: data_mod.Panel, h: int, input_size: int, config: Config) -> bool:
    """Whether some series is too short for the full layout with whole windows: then every series
    is cut with a padded lookback, and its layout shrinks as far as it must (``growlstm.layout``)."""
    lengths = panel.df.groupby("unique_id", sort=False).size()
    for uid, n in lengths.items():
        cut = plan_layout(int(n), h, config.eval, input_size, min_windows=h, test_span=panel.test_rows.get(str(uid)))
        if cut is None or cut.steps or cut.n_windows < h:
            return True
    return False


def layout_counts(wins: list[SeriesWindows]) -> str:
    """How the series were cut, in words, most common first (the run's first lines say it)."""
    from collections import Counter

    counts = Counter(", ".join(w.layout_steps) or "full layout" for w in wins)
    untrained = sum(1 for w in wins if not len(w.train_origins))
    text = "; ".join(f"{k} series: {what}" for what, k in counts.most_common())
    return text + (f"; {untrained} series too short for a training window (validated and forecast only)" if untrained else "")


@one_torch_thread
def grow_global(
    panel: data_mod.Panel, config: Config, run_dir: Optional[str | Path] = None, resume: bool = False
) -> ManyResult:
    """Grow one LSTM on the windows of every series of ``panel`` (``growth.scope=global``)."""
    from growlstm.records import Recorder
    from growlstm.search import choose, prepare, run_stages

    check_config(config)
    if config.model.widths and config.model.init_from:
        raise InputError("model.init_from is not available with growth.scope=global", "leave model.init_from unset")
    start = time.perf_counter()
    report_skipped(panel)
    h = config.h if config.h is not None else default_h(panel.freq)
    season = config.data.season_length or panel.season_length
    # One network reads one window length: the default is not shortened per series.
    input_size = config.input_size or default_input_size(h, season)
    pad = needs_padding(panel, h, input_size, config)
    if pad and config.input_size is None:
        # Short series: most of a long lookback would be padding. One horizon or one season
        # (M1 monthly, OWA of the global LSTM: 0.940 with 18 steps against 0.964 with 36).
        input_size = max(h, season)
    common = replace(config, h=h, input_size=input_size)
    rows: dict[str, dict[str, Any]] = {}
    wins: list[SeriesWindows] = []
    for uid, one in split_panel(panel):
        try:
            wins.append(prepare(one, series_config(common, uid), pad=pad)[1])
        except InputError as err:  # too short for any validation: reported, the others go on
            rows[uid] = series_row(uid, "refused", reason=str(err))
    if not wins:
        raise InputError(f"no series of {len(panel)} has {h} points and two more to validate on",
                         "use a smaller h, or longer series")
    if config.model.series_id and len(wins) > SERIES_ID_MAX:
        raise InputError(f"model.series_id=true gives one input per series, and {len(wins)} series is more than "
                         f"{SERIES_ID_MAX}", "drop model.series_id, or tell series apart by static data.features")
    pooled = PooledWindows.build(pool_feature_scaling(wins), series_id=config.model.series_id)
    workers = worker_count(config, len(wins))
    log.info("growlstm: %d series, global scope: one LSTM on %d training windows (%d distinct targets), "
             "%d early-stopping, h=%d, input_size=%d%s%s; %d refused", len(wins), len(pooled.train_pos), pooled.n_samples,
             len(pooled.stop_pos), h, input_size, " left-padded" if pooled.pad else "",
             ", series identity as one-hot inputs" if pooled.series_id else "", len(rows))
    log.info("layouts: %s", layout_counts(wins))
    log.info("fitting %s on every series (%d worker(s))", ", ".join(config.baselines), workers)
    per_series = all_baselines(wins, list(config.baselines), workers)
    baselines = set_baselines(per_series, config.baselines)
    goal = make_goal(config.goal, baselines)  # on the validation means only
    log.info("baselines (mean %s over series): %s", goal.metric.upper(), ", ".join(
        f"{n} {b.val.get(goal.metric, math.nan):.3f}" for n, b in baselines.items() if b.ok))
    cap_fn = CapFn(pooled.n_samples, pooled.n_inputs, h)
    first = list(config.model.widths) or [config.growth.start_cells]
    if sum(first) > cap_fn(config.growth.alpha) and not config.model.widths:
        raise InputError(f"{first} cells exceed the capacity cap of {cap_fn(config.growth.alpha)} cells",
                         "use more or longer series, a smaller h, or a smaller growth.alpha")
    root = Path(run_dir) if run_dir is not None else None
    recorder = Recorder(root, config, pooled, resume=resume) if root is not None else None  # type: ignore[arg-type]
    if root is not None:
        mark_many(root, "global", len(panel))
    seeds = [config.seed + k for k in range(config.growth.seeds)]
    evaluator = PooledEvaluator(
        pooled, config.model, config.trainer, seeds, log_dir=recorder.tb_dir if recorder else None,
        verbose=config.verbose, split_noise=config.growth.split_noise, shrink=config.growth.shrink,
        perturb=config.growth.perturb,
    )
    searched = run_stages(pooled, config, goal, cap_fn, evaluator, recorder, first, resume, start)
    if recorder is not None:
        recorder.close_growth(searched.stages, baselines, goal)
    chosen = choose(searched.stages, searched.history, goal, config.growth)
    modules = searched.modules.get(chosen, []) if chosen is not None else []
    refits = {part: (pooled, modules) for part in ("val", "test", "future")}
    refit_info: dict[str, Any] = {}
    if config.forecast.refit and modules:
        from growlstm.refit import RefitFailure

        try:
            refits, refit_info = refit_global(pooled, searched.stages, chosen, config)  # type: ignore[arg-type]
        except RefitFailure as err:  # the searched networks still forecast; say why they do
            log.warning("refit failed (%s): the forecast comes from the searched networks", err)
            refit_info = {"error": str(err)}
    tested = refits["test"]
    # The test origins are read once, here: the chosen network's seeds on every series.
    advice = global_advice(pooled, modules, refits, per_series, goal, config)
    table_rows, check = chosen_rows(pooled, modules, tested, per_series,
                                    searched.stages[chosen].widths if chosen is not None else [], goal, config, advice)
    rows |= {r["uid"]: r for r in table_rows}
    table = pd.DataFrame([rows[uid] for uid in panel.ids() if uid in rows])
    if root is not None:
        write_growth_plot(root, config, pooled, goal, baselines, searched, chosen, table, season)
    stage_table = [
        {"stage": s.index, "widths": s.widths, "params": s.params, "val": s.val, "val_std": s.val_std,
         "decision": s.decision, "seconds": s.seconds, "error": s.error}
        for s in searched.stages
    ]
    result = ManyResult(
        config=config, scope="global", table=table, skipped=dict(panel.skipped),
        seconds=searched.spent * 60 + time.perf_counter() - start, workers=workers, run_dir=root,
        extra={"global": {
            "chosen_stage": chosen, "widths": searched.stages[chosen].widths if chosen is not None else None,
            "params": searched.stages[chosen].params if chosen is not None else None,
            "stop_reason": searched.stop.reason, "stop_note": searched.stop.note,
            "goal": goal.describe(), "best_baseline": goal.baseline, "training_windows": len(pooled.train_pos),
            "n_samples": pooled.n_samples, "h": h, "input_size": input_size,
            "series_id": pooled.series_id, "n_inputs": pooled.n_inputs, "stages": stage_table,
            "padded": pooled.pad, "refit": refit_info, "claim_check": check.as_dict(),
        }, "recommendation": advice[0].as_dict() if advice else None},
    )
    if advice:
        log.info("recommended for every series: %s (%s)", advice[0].model, advice[0].reason)
    if root is not None:
        write_forecasts(root, refits["future"][0], advice, config)
        if advice is not None:  # what forecast.csv was made from, for growlstm.predict
            from growlstm.forecaster import MODEL_FILE, capture, save

            others = {uid: f"{r['status']}: {r['reason']}" for uid, r in rows.items() if r["status"] == "refused"}
            at_end, end_nets = refits["future"]
            save(root / MODEL_FILE, capture("global", at_end.series, advice[1], advice[0], advice[2], list(end_nets),
                                            panel, config, others))
        write_many(root, result)
    return result


def write_growth_plot(root: Path, config: Config, pooled: PooledWindows, goal: Goal, baselines: dict[str, BaselineResult],
                      searched: Any, chosen: Optional[int], table: pd.DataFrame, season: int) -> None:
    """growth.png of the one network, as for one series: set-level validation means per stage,
    the baselines' and the goal's, and the chosen network's set-level test score."""
    from growlstm.plots import growth_plot
    from growlstm.records import atomic_write
    from growlstm.search import GrowthResult
    from growlstm.setlevel import set_scores

    scores = set_scores(table, "test")
    test = {k: float(scores.loc["lstm", k]) for k in ("smape", "mase")} if "lstm" in scores.index else {}
    result = GrowthResult(
        config=config, series=f"{len(pooled.series)} series (one global LSTM; means over series)",
        n_points=int(sum(len(w.y) for w in pooled.series)), h=pooled.h, input_size=pooled.input_size,
        season_length=season, n_samples=pooled.n_samples, n_inputs=pooled.n_inputs, goal=goal,
        stages=searched.stages, baselines=baselines, stop_reason=searched.stop.reason, stop_note=searched.stop.note,
        chosen=chosen, chosen_test=test,
    )
    atomic_write(root / "growth.png", lambda tmp: growth_plot(result, tmp))


def refit_global(
    pooled: PooledWindows, stages: Sequence[Any], chosen: int, config: Config,
) -> tuple[dict[str, tuple[PooledWindows, list[LSTMForecaster]]], dict[str, Any]]:
    """The chosen network refitted (``growlstm.refit``, the series pooled) on every series' data
    before its first validation origin (``val``: the evidence the recommendation compares with
    the baselines, fitted there too), before its first test origin (``test``: the test scores)
    and on all of it (``future``: forecast.csv)."""
    from growlstm.refit import growth_path, recut, refit

    path = growth_path(stages, chosen)

    def pooled_at(origins: list[int]) -> PooledWindows:
        cut = [recut(w, o) for w, o in zip(pooled.series, origins)]
        return PooledWindows.build(pool_feature_scaling(cut), series_id=pooled.series_id)

    cuts = {
        "val": pooled_at([int(w.val_origins[0]) for w in pooled.series]),
        "test": pooled_at([int(w.test_origins[0]) if len(w.test_origins) else len(w.y) for w in pooled.series]),
        "future": pooled_at([len(w.y) for w in pooled.series]),
    }
    info = {"path": [r.index for r in path], **{f"{k}_windows": len(c.train_pos) for k, c in cuts.items()}}
    log.info("refit: the chosen network retrained on %d windows (before each validation span), %d (before each "
             "test span) and %d (all the data)", *(len(c.train_pos) for c in cuts.values()))
    return {k: (c, refit(c, path, config)) for k, c in cuts.items()}, info


def global_advice(
    pooled: PooledWindows, modules: Sequence[LSTMForecaster],
    refits: dict[str, tuple[PooledWindows, Sequence[LSTMForecaster]]], per_series: list[dict[str, BaselineResult]],
    goal: Goal, config: Config,
) -> Optional[tuple[Any, list[Any], dict[str, np.ndarray]]]:
    """The recommendation for every series, decided once on all series' validation errors
    (``growlstm.advice``): (recommendation, each series' advice, conformal quantiles per candidate)."""
    from growlstm.advice import decide, quantiles, series_advice
    from growlstm.recommend import Candidate

    def seed_mean(where: PooledWindows, nets: Sequence[LSTMForecaster], origins: list[Any]) -> list[np.ndarray]:
        per_seed = [where.forecasts(m, origins) for m in nets]
        return [np.mean([f[k] for f in per_seed], axis=0) for k in range(len(origins))]

    lstm: list[Any] = [None] * len(pooled.series)
    if modules:
        (at_val, val_nets), (at_test, test_nets), (at_end, end_nets) = refits["val"], refits["test"], refits["future"]
        val = seed_mean(at_val, val_nets, [w.val_origins for w in at_val.series])
        test = seed_mean(at_test, test_nets, [w.test_origins for w in at_test.series])
        ahead = seed_mean(at_end, end_nets, [np.array([w.future_origin]) for w in at_end.series])
        lstm = [Candidate("lstm", list(v), list(t), a[0]) for v, t, a in zip(val, test, ahead)]
    advice = [series_advice(w, bases, cand, goal.metric, best=goal.baseline)
              for w, bases, cand in zip(pooled.series, per_series, lstm)]
    if not any(a.candidates for a in advice):
        return None
    rec = decide([a for a in advice if a.candidates], config.forecast.significance)
    names = set().union(*(a.candidates for a in advice))  # a series' own fallback needs its intervals too
    q = {name: quantiles(advice, name, config.forecast.levels) for name in sorted(names)}
    return rec, advice, q


def chosen_rows(
    pooled: PooledWindows, modules: Sequence[LSTMForecaster], tested: tuple[PooledWindows, Sequence[LSTMForecaster]],
    per_series: list[dict[str, BaselineResult]], widths: list[int], goal: Goal, config: Config,
    advice: Optional[tuple[Any, list[Any], dict[str, np.ndarray]]] = None,
) -> tuple[list[dict[str, Any]], CarryOver]:
    """One row per series: the chosen network (mean over its seeds) and that series' baselines;
    and the validation backtest of per-series goal claims (``goal.carry_over``).

    Validation scores come from the searched networks, test scores from ``tested`` (the refitted
    networks and their windows; with a refit, the searched networks' test scores are kept beside
    them as ``search_test``). The per-series goal verdict compares with the series' own best
    baseline on validation.
    """
    # Each seed's validation forecasts, once: its scores, and (seed mean) the goal claim's evidence.
    val_forecasts = [pooled.forecasts(m, pooled.origins("val")) for m in modules]
    val = [pooled.scores_of(per, "val") for per in val_forecasts]
    test = tested[0].ensemble_scores(tested[1], "test") if modules else []
    searched = pooled.ensemble_scores(modules, "test") if modules and tested[1] is not modules else []
    goals = [make_goal(config.goal, bases) for bases in per_series]
    lstm_vals = [mean_scores([v[k] for v in val]) if val else {} for k in range(len(pooled.series))]
    points = [own.met(v.get(goal.metric, math.nan), "val") for own, v in zip(goals, lstm_vals)]
    claims: list[Optional[float]] = [None] * len(goals)
    ratios: list[Optional[np.ndarray]] = [None] * len(goals)
    for k, (w, own) in enumerate(zip(pooled.series, goals)):
        if val_forecasts:  # claimed only beyond the noise (Goal.claim_pvalue)
            mean = np.mean([f[k] for f in val_forecasts], axis=0)
            evidence = (list(mean), [w.actuals(int(o)) for o in w.val_origins],
                        [w.history(int(o)) for o in w.val_origins], w.season_length)
            claims[k] = own.claim_pvalue(*evidence) if points[k] else None
            ratios[k] = own.origin_ratios(*evidence)
    check = carry_over(ratios)
    if check.claimed:
        log.info("%s", check.describe())
    rows = []
    for k, (w, bases) in enumerate(zip(pooled.series, per_series)):
        lstm_val, lstm_test, own, point, claim = lstm_vals[k], test[k] if test else {}, goals[k], points[k], claims[k]
        met_val = point if claim is None else bool(point and claim < config.forecast.significance)
        met_val = met_val and not check.withholds
        summary = {
            "data": {"points": len(w.y), "residual": w.base_name or None},
            "chosen": {"widths": widths, "params": None, "val": lstm_val, "test": lstm_test,
                       "search_test": searched[k] if searched else {}} if modules else None,
            "goal": {"baseline": own.baseline, "met_val": met_val, "met_val_mean": point, "met_val_p": claim,
                     "met_val_origins": float(np.mean(ratios[k] <= 1)) if ratios[k] is not None else None,
                     "claims_withheld": check.withholds,
                     "met_test": own.met(lstm_test.get(goal.metric, math.nan), "test")},
            "baselines": {n: {"status": "ok" if b.ok else "failed", "val": b.val, "test": b.test} for n, b in bases.items()},
            "stop_reason": "global model",
        }
        if advice is not None and advice[1][k].candidates:
            from growlstm.advice import summary_block

            summary["recommendation"] = summary_block(advice[0], advice[1][k], advice[2], config.forecast.levels, w)
        rows.append(series_row(w.uid, "ok" if modules else "no model", summary))
    return rows, check


def write_forecasts(root: Path, pooled: PooledWindows, advice: Optional[tuple[Any, list[Any], dict[str, np.ndarray]]],
                    config: Config) -> None:
    """forecast.csv: the h steps after each series' data: the recommended forecast and every
    candidate's (the LSTM is the mean over the chosen network's seeds), with their intervals."""
    from growlstm.advice import forecast_columns
    from growlstm.records import atomic_write
    from growlstm.windows import future_frame

    frames = []
    for k, w in enumerate(pooled.series):
        frame = future_frame(w.ds, w.h)
        frame.insert(0, "unique_id", w.uid)
        if advice is not None:
            frame = pd.concat([frame, pd.DataFrame(forecast_columns(advice[1][k], advice[0], config.forecast.levels,
                                                                    advice[2]))], axis=1)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    atomic_write(root / "forecast.csv", lambda tmp: table.to_csv(tmp, index=False))
