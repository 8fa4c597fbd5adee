"""The saved forecaster: what a run's forecast.csv was made from, and the arithmetic with which
``growlstm.runs.prediction.predict`` forecasts again from it without training.

A finished run keeps ``forecaster.pt`` beside forecast.csv (a local-scope run: in each series
folder): the recommendation, every candidate's conformal quantiles, and per series where the
run cut its data, counted back from the end (the baselines' fitting origins, the history behind
the interval scale, the span the residual base was fitted on). With an LSTM it also holds the
networks that forecast the future (the refitted ones by default, ``forecast.refit``): each
seed's state dict with the ``model_args`` that rebuild it, the window layout (input size,
normalisation, padding, series identity) and per series the scaler and residual base they
expect, so that loading never depends on the code's current defaults.

``predict`` redoes forecast.csv's arithmetic on the data it is given: each baseline fitted and
run forward as in the run (at the same distance from the end), the LSTM's residual base re-run
and the stored networks forecasting from the end (their scalers unchanged: they were trained in
those units), the combinations averaged, the intervals from the stored quantiles and the scale
of the data. On the run's own data that is forecast.csv again, digit for digit; on newer data
(the same series with more points) it is the forecast from the new end. Nothing is trained.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np
import pandas as pd
import torch

from growlstm.verdict.advice import delivered, first_available, forecast_floor, future_columns, history_scale, series_choice
from growlstm.baselines import BASELINES
from growlstm.config import Config, plain
from growlstm.errors import InputError
from growlstm.baselines.backtesting import backtest
from growlstm.data.layout import MIN_HISTORY
from growlstm.train.module import LSTMForecaster
from growlstm.verdict.recommend import HEDGE, Candidate
from growlstm.records.store import atomic_write, clean, config_dict, load_data, rebuild
from growlstm.baselines.residual import with_classical_base
from growlstm.train.fit import predict as net_forecast
from growlstm.data.windows import Scaler, SeriesWindows, future_frame

if TYPE_CHECKING:
    from growlstm.verdict.advice import SeriesAdvice
    from growlstm.data import Panel
    from growlstm.verdict.recommend import Recommendation

log = logging.getLogger("growlstm")

MODEL_FILE = "forecaster.pt"
PREDICTION = "predict.json"  # written last by predict: the mark of a finished prediction
# 2: the base forecast is an input at the last step only (format 1's networks read it at every step).
# 3: so is the series identity (model.series_id); a format-2 file without it reads the same.
FORMAT = 3


@dataclass
class SeriesState:
    """One series as forecast.csv was made for it; ``*_from_end``: points before the data's end."""

    uid: str
    n_points: int
    last_ds: str
    candidates: list[str]  # forecast.csv's candidates, in column order
    choice: str  # the model in its `recommended` column
    val_scores: dict[str, float]  # mean scaled validation error per candidate (orders the fallbacks)
    scale_from_end: int  # the intervals' scale: in-sample naive error of the data before this point
    baseline_from_end: list[int]  # baselines fitted at the first of these, run forward to the end
    # The LSTM (None: the series has none): the scaler its inputs and outputs use, its residual
    # base and where that base's parameters were fitted, and whether its lookback is padded.
    scaler_mean: Optional[list[float]] = None
    scaler_std: Optional[list[float]] = None
    base_name: str = ""
    base_from_end: int = 0
    pad: bool = False

    @property
    def has_lstm(self) -> bool:
        return self.scaler_mean is not None


@dataclass
class Forecaster:
    """Everything forecast.csv was made from (one series, or a global model's series)."""

    scope: str  # single | global
    h: int
    season_length: int
    freq: Optional[str]
    features: list[str]
    levels: list[int]
    recommendation: dict[str, Any]  # growlstm.verdict.recommend.Recommendation.as_dict()
    quantiles: dict[str, list[list[float]]]  # per candidate: (levels, h), in units of the series' scale
    series: list[SeriesState]
    # model_args, state_dicts (one per seed, in seed order), input_size, norm, series_id, base_input,
    # series_stats; None: no LSTM
    network: Optional[dict[str, Any]] = None
    others: dict[str, str] = field(default_factory=dict)  # series the run did not forecast, and why
    config: dict[str, Any] = field(default_factory=dict)  # the run's config, for the record


# ----------------------------------------------------------------------------- capture (end of a run)


def stamp(value: Any) -> str:
    """A time as people write it: the date alone at midnight, the step number for integer steps."""
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        value = pd.Timestamp(value)
        return str(value.date()) if value == value.normalize() else value.isoformat()
    return str(value)


def series_state(win: SeriesWindows, advice: "SeriesAdvice", rec: "Recommendation",
                 lstm_win: Optional[SeriesWindows]) -> SeriesState:
    """What ``predict`` needs of one series: ``win`` as the run cut it, ``lstm_win`` the windows
    its LSTM forecast the future on (None: no LSTM)."""
    n = len(win.y)
    state = SeriesState(
        uid=win.uid, n_points=n, last_ds=stamp(win.ds[-1]), candidates=list(advice.candidates),
        choice=series_choice(advice, rec) if advice.candidates else "",
        val_scores={name: float(err.mean()) for name, err in advice.errors.items()},
        scale_from_end=n - int(win.val_origins[0]), baseline_from_end=[n - int(o) for o in win.test_origins],
    )
    if lstm_win is not None and "lstm" in advice.candidates:
        state.scaler_mean, state.scaler_std = lstm_win.scaler.mean.tolist(), lstm_win.scaler.std.tolist()
        state.base_name, state.base_from_end, state.pad = lstm_win.base_name, n - lstm_win.n_train, lstm_win.pad
    return state


def network_state(nets: Sequence[LSTMForecaster], win: SeriesWindows, series_id: bool,
                  series_stats: bool = False) -> dict[str, Any]:
    """The networks (one per seed) and the window layout they read (``win``: one of their series)."""
    args = [{k: v for k, v in dict(m.hparams).items() if k not in ("lr", "weight_decay")} for m in nets]
    return {
        "model_args": args[0],
        # An ensemble over lookbacks (forecast.ensemble): each network's own arguments.
        **({"member_args": args} if any(a != args[0] for a in args) else {}),
        "state_dicts": [{k: t.detach().clone() for k, t in m.net.state_dict().items()} for m in nets],
        "input_size": int(win.input_size), "norm": win.norm, "series_id": series_id, "base_input": win.base_input,
        "series_stats": series_stats,
    }


def capture(scope: str, wins: Sequence[SeriesWindows], advice: Sequence["SeriesAdvice"], rec: "Recommendation",
            q: dict[str, np.ndarray], nets: Sequence[LSTMForecaster], panel: "Panel", config: Config,
            others: Optional[dict[str, str]] = None) -> Forecaster:
    """The forecaster of a finished run: ``wins`` are the windows the future was forecast on
    (per series, in the run's order; for the LSTM, those of ``nets``)."""
    first = wins[0]
    states = [series_state(w, a, rec, w if nets else None) for w, a in zip(wins, advice)]
    # model.series_stats as the run resolved it (unset: off), so predict rebuilds the same inputs.
    network = network_state(nets, first, scope == "global" and config.model.series_id,
                            scope == "global" and bool(config.model.series_stats)) if nets else None
    return Forecaster(
        scope=scope, h=first.h, season_length=first.season_length, freq=panel.freq, features=list(panel.features),
        levels=list(config.forecast.levels), recommendation=clean(rec.as_dict()),
        quantiles={name: np.asarray(v).tolist() for name, v in q.items()}, series=states, network=network,
        others=dict(others or {}), config=config_dict(config),
    )


def save(path: Path, forecaster: Forecaster) -> None:
    """forecaster.pt, written atomically (plain data and tensors: no growlstm class is pickled)."""
    payload = plain({"format": FORMAT, **asdict(forecaster)})  # settings' Choice members as strings
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load(path: Path) -> Forecaster:
    """A saved forecaster (plain data and tensors only: ``weights_only`` unpickles nothing else)."""
    payload = load_data(path, "forecaster", "run the growth again (it writes forecaster.pt), or give predict= another "
                        "finished run folder")
    # Format 2 differs from 3 only in how a network with series identity reads it.
    reads_the_same = payload.get("format") == 2 and not (payload.get("network") or {}).get("series_id")
    if payload.get("format") != FORMAT and not reads_the_same:
        raise InputError(f"{path} was written by another growlstm version (format {payload.get('format')})",
                         "run the growth again with this version")
    payload.pop("format")
    try:
        return Forecaster(**{**payload, "series": [SeriesState(**s) for s in payload["series"]]})
    except (TypeError, KeyError) as err:  # the right format number over the wrong fields
        raise InputError(f"{path} is not a growlstm forecaster (its records do not match: {err})",
                         "run the growth again (it writes forecaster.pt)") from None


# ----------------------------------------------------------------------------- forecasting again


def networks(network: dict[str, Any]) -> list[LSTMForecaster]:
    """The stored seeds, rebuilt from their model_args (in eval mode)."""
    if "member_args" in network:  # networks of several lookbacks
        return [rebuild(a, [st])[0] for a, st in zip(network["member_args"], network["state_dicts"])]
    return rebuild(network["model_args"], list(network["state_dicts"]))


def lstm_window(state: SeriesState, frame: pd.DataFrame, fc: Forecaster) -> SeriesWindows:
    """The series as the stored network reads it: its stored scaler, its residual base fitted as
    far from the end as in the run, origin at the end of the data."""
    assert fc.network is not None and state.scaler_mean is not None and state.scaler_std is not None
    values = np.column_stack([frame[c].to_numpy(dtype=float) for c in ("y", *fc.features)])
    scaler = Scaler(np.asarray(state.scaler_mean), np.asarray(state.scaler_std))
    n = len(values)
    win = SeriesWindows(
        uid=state.uid, ds=pd.Index(frame["ds"]), y=values[:, 0].copy(), z=scaler.transform(values), scaler=scaler,
        h=fc.h, input_size=fc.network["input_size"], n_train=n - state.base_from_end,
        season_length=fc.season_length, norm=fc.network["norm"], pad=state.pad,
        base_input=bool(fc.network.get("base_input", False)),
    )
    return with_classical_base(win, state.base_name) if state.base_name else win


def lstm_futures(fc: Forecaster, frames: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    """The seeds' mean forecast from the end of each series that has the LSTM."""
    states = [s for s in fc.series if s.has_lstm]
    if fc.network is None or not states:
        return {}
    nets = networks(fc.network)
    wins = [lstm_window(s, frames[s.uid], fc) for s in states]
    if fc.scope != "global":
        return {w.uid: np.mean([net_forecast(m, w, len(w.y)) for m in nets], axis=0) for w in wins}
    from growlstm.train.pooled_windows import PooledWindows

    # A file written before model.series_stats has none (it reads the same).
    pooled = PooledWindows.build(wins, series_id=fc.network["series_id"],
                                 series_stats=bool(fc.network.get("series_stats", False)))
    reads = max((m.net.lookback or 0 for m in nets), default=0)
    if reads > pooled.input_size:  # a network that growth's lookback move made read further back
        pooled = pooled.with_lookback(reads)
    per_seed = [pooled.forecasts(m, [np.array([len(w.y)]) for w in wins]) for m in nets]
    return {w.uid: np.mean([f[k] for f in per_seed], axis=0)[0] for k, w in enumerate(wins)}


def baseline_futures(state: SeriesState, y: np.ndarray, fc: Forecaster, notes: list[str]) -> dict[str, np.ndarray]:
    """Each classical candidate fitted where the run fitted it (as far from the end) and run
    forward to the end; one that fails on this data is left out, with a note."""
    n = len(y)
    out = {}
    for name in state.candidates:
        if name not in BASELINES:
            continue
        try:
            paths, _ = backtest(name, y, fc.h, fc.season_length, [n - k for k in state.baseline_from_end] + [n],
                                fc.config.get("baseline_engine", "statsmodels"))  # a file from before the engine: statsmodels
        except Exception as err:  # noqa: BLE001 - a fit that fails on new data: the others go on
            notes.append(f"{state.uid}: {name} failed on this data ({type(err).__name__}: {err}); left out")
            continue
        out[name] = paths[-1]
    return out


def series_columns(state: SeriesState, frame: pd.DataFrame, lstm: Optional[np.ndarray], fc: Forecaster,
                   notes: list[str]) -> tuple[pd.DataFrame, str]:
    """One series' forecast.csv rows (ds, step, the recommended forecast and every candidate's)
    and the model recommended."""
    y = frame["y"].to_numpy(dtype=float)
    singles = {n: Candidate(n, [], [], f) for n, f in baseline_futures(state, y, fc, notes).items()}
    if lstm is not None:
        singles["lstm"] = Candidate("lstm", [], [], lstm)
    # The lstm+<best> partner (lstm+comb is the hedge, built whenever comb is).
    best = next((n.split("+", 1)[1] for n in state.candidates if n.startswith("lstm+") and n != HEDGE), None)
    # The run's floor rule on this data (a run saved before forecast.nonnegative had none).
    floor = forecast_floor(y, fc.config.get("forecast", {}).get("nonnegative", False))
    made = delivered({n: singles[n] for n in state.candidates if n in singles}, best, (None, floor))
    futures = {n: made[n].future for n in state.candidates if n in made}
    rec = fc.recommendation
    choice = first_available(futures, (state.choice, rec["model"], rec["reference"]), state.val_scores)
    if state.choice and choice != state.choice:
        notes.append(f"{state.uid}: the recommended {state.choice} could not forecast this data; recommended: {choice}")
    out = future_frame(pd.Index(frame["ds"]), fc.h)
    if choice is None:
        return out, ""
    scale = history_scale(y[: len(y) - state.scale_from_end], fc.season_length)
    q = {name: np.asarray(v) for name, v in fc.quantiles.items()}
    return pd.concat([out, pd.DataFrame(future_columns(choice, futures, scale, q, fc.levels, floor))], axis=1), choice


def needed_points(state: SeriesState, fc: Forecaster) -> int:
    """The fewest points the series needs for every cut the run made (counted from the end)."""
    need = max([state.scale_from_end, *state.baseline_from_end]) + MIN_HISTORY
    if state.has_lstm and fc.network is not None:
        need = max(need, state.base_from_end + MIN_HISTORY, 0 if state.pad else fc.network["input_size"])
    return need


def check_data(fc: Forecaster, panel: "Panel", frames: dict[str, pd.DataFrame], season_length: int, run_dir: Path) -> None:
    """Refuse data that is not the run's: another frequency, season or feature set, other series,
    or too few points; one line each, with the fix."""
    where = f"the run {run_dir}"
    if panel.freq != fc.freq:
        raise InputError(f"the data's frequency is {panel.freq or 'unknown (integer steps)'} but {where} was grown on "
                         f"{fc.freq or 'data of unknown frequency (integer steps)'}",
                         "give the run's series with more recent points, at the run's frequency")
    if season_length != fc.season_length:
        raise InputError(f"the data's season length is {season_length} but {where} used {fc.season_length}",
                         f"set data.season_length={fc.season_length}, or leave it as the run had it")
    if list(panel.features) != fc.features:
        raise InputError(f"the data has feature columns {list(panel.features)} but {where} used {fc.features}",
                         "give the run's columns (data.features as the run had them)")
    check_series(panel, [s.uid for s in fc.series], fc.others, where)
    for state in fc.series:
        n, need = len(frames[state.uid]), needed_points(state, fc)
        if n < need:
            raise InputError(f"series '{state.uid}' has {n} points, too few for {where}'s forecaster (it needs {need}; "
                             f"the run had {state.n_points})", "give the whole series, up to its most recent point")


def check_series(panel: "Panel", known: Sequence[str], others: dict[str, str], where: str) -> None:
    """Refuse series the run did not have, and the lack of a series it forecast."""
    ids, known_ids = panel.ids(), set(known)
    unknown = [u for u in ids if u not in known_ids and u not in others]
    if unknown:
        listed = ", ".join(list(known)[:5]) + (", ..." if len(known) > 5 else "")
        raise InputError(f"series {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''} "
                         f"{'is' if len(unknown) == 1 else 'are'} not in {where} (it forecast {listed})",
                         "give the run's own series (data.series, data.id_col as the run had them)")
    present = set(ids)
    missing = [u for u in known if u not in present]
    if missing:
        why = "; ".join(f"{u} skipped: {panel.skipped[u]}" for u in missing[:3] if u in panel.skipped)
        raise InputError(f"the data lacks series {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} "
                         f"that {where} forecast{' (' + why + ')' if why else ''}",
                         "give every series of the run (more recent points are welcome)")


def forecast(fc: Forecaster, panel: "Panel", season_length: int, run_dir: Path
             ) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """forecast.csv of ``panel`` from ``fc`` (``unique_id`` first for a global model), the model
    recommended per series, and notes."""
    frames = panel.frames()
    check_data(fc, panel, frames, season_length, run_dir)
    notes: list[str] = []
    lstm = lstm_futures(fc, frames)
    tables, choices = [], {}
    for state in fc.series:
        table, choices[state.uid] = series_columns(state, frames[state.uid], lstm.get(state.uid), fc, notes)
        if fc.scope == "global":
            table.insert(0, "unique_id", state.uid)
        tables.append(table)
    notes += [f"{uid}: not forecast, as in the run ({fc.others[uid]})" for uid in panel.ids() if uid in fc.others]
    return (tables[0] if fc.scope != "global" else pd.concat(tables, ignore_index=True)), choices, notes
