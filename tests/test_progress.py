"""Progress on long work: a tqdm bar with counts and time left on a terminal, nothing otherwise."""

from __future__ import annotations

import io
import logging
import re
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from growlstm import from_long
from growlstm.runs import local as many
from growlstm.config import Config, DataConfig, GrowthConfig
from growlstm import progress as progress_mod
from growlstm.progress import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


BAR = re.compile(r"(\d+)/(\d+) \[\d\d:\d\d<\d\d:\d\d")  # done/total [elapsed<left


@pytest.fixture(autouse=True)
def every_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    """Draw every update (tqdm otherwise redraws at most every 0.1 s)."""
    monkeypatch.setattr(progress_mod, "REDRAW_SECONDS", 0.0)


def test_bar_counts_and_time_left_on_a_terminal_only() -> None:
    tty, pipe = Terminal(), io.StringIO()
    for stream in (tty, pipe):
        with progress(3, "series", stream=stream) as bar:
            for _ in range(3):
                bar.update(1)
    counts = [(int(a), int(b)) for a, b in BAR.findall(tty.getvalue())]
    assert counts and counts[-1] == (3, 3) and "series" in tty.getvalue()
    assert pipe.getvalue() == ""  # redirected: not one bar frame


def test_console_lines_pass_above_the_bar(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("growlstm")
    saved = logger.handlers[:], logger.level, logger.propagate
    logger.handlers = [logging.StreamHandler(sys.stdout)]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        with progress(2, "series", stream=Terminal()) as bar:
            logger.info("[1/2] a: done")
            bar.update(1)
        logger.info("after")
    finally:
        logger.handlers, logger.level, logger.propagate = saved[0], saved[1], saved[2]
    assert capsys.readouterr().out.splitlines() == ["[1/2] a: done", "after"]


def _panel(n_series: int) -> object:
    t = np.arange(60)
    table = pd.concat([pd.DataFrame({"unique_id": f"s{k}", "ds": t, "y": 10 + np.sin(t / 3 + k)})
                       for k in range(n_series)])
    return from_long(table, season_length=1)


def test_local_run_shows_a_series_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(many, "grow_series", lambda uid, *rest: {"uid": uid, "status": "ok"})
    config = Config(data=DataConfig(season_length=1), h=6, growth=GrowthConfig(scope="local", workers=1))
    tty, captured = Terminal(), sys.stderr
    monkeypatch.setattr(sys, "stderr", tty)
    result = many.grow_local(_panel(3), config)
    assert len(result.table) == 3
    counts = [(int(a), int(b)) for a, b in BAR.findall(tty.getvalue())]
    assert "0/3 [" in tty.getvalue() and counts[-1] == (3, 3)
    monkeypatch.setattr(sys, "stderr", captured)
    many.grow_local(_panel(2), replace(config, growth=replace(config.growth, workers=1)))
    assert not BAR.search(capsys.readouterr().err)  # not a terminal: no bar


def test_global_run_counts_series_while_fitting_baselines(monkeypatch: pytest.MonkeyPatch) -> None:
    from growlstm.runs.shared import all_baselines
    from growlstm.growth.preparation import prepare

    panel = _panel(3)
    config = Config(data=DataConfig(season_length=1), h=6)
    wins = [prepare(panel, replace(config, data=replace(config.data, series=u)))[1] for u in panel.ids()]
    tty = Terminal()
    monkeypatch.setattr(sys, "stderr", tty)
    fitted = all_baselines(wins, ["naive"], workers=1)
    assert [r["naive"].ok for r in fitted] == [True] * 3
    assert "baselines" in tty.getvalue() and [(int(a), int(b)) for a, b in BAR.findall(tty.getvalue())][-1] == (3, 3)
