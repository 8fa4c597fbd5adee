"""Runs of growlstm for the benchmarks: config overrides, one job in a fresh process (its wall
time and peak memory its own), and the job most benchmarks share: one panel through
``grow_many`` as a user would run it.

    run_in_process({"job": "bench.run:panel_job", "subset": "m1_yearly", "scope": "auto"}, 600)

A job is ``module:function`` (a module importable from scripts/) taking the spec and returning a
JSON-able dict; ``python -m bench.run SPEC`` runs it and prints ``RESULT {...}``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from importlib import import_module
from pathlib import Path
from typing import Any

from .data import SCRIPTS, collection_data, folder_of, layout

PANEL_COLUMNS = ("uid", "status", "widths", "residual", "recommended", "recommended_reference", "recommended_reason",
                 "goal_met_val", "goal_met_val_mean", "goal_met_val_p", "goal_met_val_origins", "goal_claims_withheld",
                 "goal_met_test")


def parse_value(text: str) -> Any:
    """An override's value as YAML reads it (numbers, true/false, null, lists); ``1e-4`` too."""
    import yaml

    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def parse_settings(pairs: list[str], option: str = "--set") -> dict[str, Any]:
    """``KEY=VALUE`` pairs as a dict of parsed values."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"{option} wants KEY=VALUE, got {pair!r}")
        out[key] = parse_value(value)
    return out


def overrides(config: Any, settings: dict[str, Any]) -> Any:
    """``config`` with dotted settings applied, e.g. {"trainer.batch_size": 256}."""
    for key, value in settings.items():
        section, _, name = key.partition(".")
        if name:
            config = replace(config, **{section: replace(getattr(config, section), **{name: value})})
        else:
            config = replace(config, **{section: value})
    return config


def job_key(spec: dict[str, Any]) -> str:
    """A spec's identity (its label aside): a run already recorded under it is not run again."""
    return json.dumps({k: spec[k] for k in sorted(spec) if k != "label"}, sort_keys=True)


def run_in_process(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run ``spec["job"]`` (default: panel_job) in a fresh process; its result, or why it failed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SCRIPTS), str(SCRIPTS.parent), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "bench.run", json.dumps(spec)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=SCRIPTS.parent)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        return {"status": "failed", "reason": (proc.stderr.strip().splitlines() or ["?"])[-1][:300]}
    return {"status": "ok", **json.loads(lines[-1][len("RESULT "):])}


def stages_text(block: dict[str, Any]) -> str:
    """A global run's growth: widths and set-level validation MASE per stage, and why it stopped."""
    text = "; ".join(f"{st['widths']} {st['val'].get('mase', float('nan')):.3f}" for st in block.get("stages", []))
    return text + (f"; stop: {block['stop_reason']}" if block else "")


def load_panel(spec: dict[str, Any]) -> tuple[Any, Any, int]:
    """(panel, DataConfig, h) of a spec: ``subset`` (M1 or M4), or ``data_dir`` + ``layout``;
    ``every``: every k-th series only."""
    import growlstm

    pattern, h, season = spec.get("layout") or layout(spec["subset"])
    folder = Path(spec["data_dir"]) if spec.get("data_dir") else folder_of(spec["subset"])
    data = collection_data(folder, pattern, season)
    panel = growlstm.load(data)
    if spec.get("every", 1) > 1:
        ids = panel.ids()[:: spec["every"]]
        panel = replace(panel, df=panel.df[panel.df.unique_id.isin(ids)].reset_index(drop=True))
    return panel, data, h


def panel_job(spec: dict[str, Any]) -> dict[str, Any]:
    """One panel through growlstm's loader and ``grow_many`` with the default config plus
    ``settings`` (and ``scope`` unless auto); the run's summary and per-series rows."""
    from growlstm.config import Config
    from growlstm.runs.dispatch import grow_many

    panel, data, h = load_panel(spec)
    settings = dict(spec.get("settings", {}))
    if spec.get("scope", "auto") != "auto":
        settings["growth.scope"] = spec["scope"]
    config = overrides(Config(data=data, h=h), settings)
    if spec.get("refit_in_sequence"):  # the three refits one after another (to time the default)
        from growlstm.runs import pooled_refit

        pooled_refit.REFIT_SIDE_BY_SIDE = float("inf")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result = grow_many(panel, config, run_dir=tmp)
    seconds = time.perf_counter() - start
    table, block = result.table, result.extra.get("global") or {}
    advice = result.extra.get("recommendation") or {}
    ok = table[table.status == "ok"] if "status" in table else table
    cols = [c for c in table.columns if c in PANEL_COLUMNS or c.startswith(("coverage_", "msis_"))
            or c.endswith(("_test_smape", "_test_mase"))]
    refit = block.get("refit") or {}
    return {
        "scope": result.scope, "series": int(len(table)), "forecast": int(len(ok)),
        "by_lstm": int(ok.widths.fillna("").astype(str).str.len().gt(0).sum()) if "widths" in ok else 0,
        "sizes": json.dumps(result.sizes), "widths": json.dumps(block.get("widths")),
        # The chosen stage's lookback (growth.lookbacks, model.lookback) and set-level validation MASE.
        "lookback": block.get("lookback") or block.get("input_size"),
        "chosen_val_mase": (block["stages"][block["chosen_stage"]]["val"].get("mase")
                            if block.get("chosen_stage") is not None else None),
        "stages": stages_text(block),
        # The global scope's check on per-series claims (goal.carry_over): first origin to last.
        "claim_check": json.dumps(block.get("claim_check")),
        "recommended": json.dumps(table.recommended.value_counts().to_dict()) if "recommended" in table else "{}",
        # The panel's reason line, and how often a per-series choice would have changed it (verdict.advice).
        "reason": advice.get("reason"), "reference": advice.get("reference"),
        "per_series_check": json.dumps(advice.get("per_series")),
        "seconds": seconds, "per_series": table[cols].to_dict(orient="records"),
        # The global refit's own time and processes (summary.json: global.refit).
        "refit_seconds": refit.get("seconds"), "refit_workers": refit.get("workers"),
    }


def main(argv: list[str]) -> None:
    import logging

    logging.getLogger("growlstm").setLevel(logging.WARNING)
    spec = json.loads(argv[0])
    module, _, name = spec.get("job", "bench.run:panel_job").partition(":")
    job = getattr(import_module(module), name)
    start = time.perf_counter()
    out = job(spec)
    out.setdefault("seconds", time.perf_counter() - start)
    # ru_maxrss is in KiB on Linux: the largest of this process and its (waited-for) workers.
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    out["peak_gib"] = peak / 2**20
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
