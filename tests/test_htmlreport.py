"""report.html: a self-contained page per run (plots embedded), and a set-level page for many
series; a test renders one in a real headless browser (Chromium) and collects its console."""

from __future__ import annotations

import base64
import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from growlstm import from_long, grow, load
from growlstm.config import Config, DataConfig, GrowthConfig, TrainerConfig
from growlstm.runs.dispatch import grow_many
from growlstm.runs.shared import series_folder

PNG = b"\x89PNG\r\n\x1a\n"


def embedded_images(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)]


def assert_self_contained(text: str) -> None:
    """Nothing the page would fetch: no external script, style sheet, image or frame."""
    assert not re.search(r'<(script|link|iframe)\b', text)
    assert not re.search(r'src="(?!data:)', text)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("report") / "run"
    config = Config(data=DataConfig(name="nile"), trainer=TrainerConfig(max_epochs=3, early_stopping_patience=2),
                    growth=GrowthConfig(seeds=2, max_stages=2), baselines=["naive", "naive2"])
    result = grow(load(config.data), config, run_dir=folder)
    return folder, result


def test_run_folder_holds_a_self_contained_report(run: tuple[Path, object]) -> None:
    folder, result = run
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert_self_contained(text)
    images = embedded_images(text)
    assert len(images) == 2 and all(png.startswith(PNG) and len(png) > 5000 for png in images)
    assert images[1] == (folder / "growth.png").read_bytes()  # the growth plot, embedded as written
    rec = result.recommendation  # type: ignore[attr-defined]
    assert f"Use {rec['model'] if rec['model'] != 'lstm' else 'LSTM'}" in text or "Use the mean of" in text
    assert "Did the LSTM meet the goal?" in text and html.escape(result.goal.describe()) in text  # type: ignore[attr-defined]
    for name in ("naive", "naive2"):
        assert f"<td class=\"l\">{name}" in text
    for stage in result.stages:  # type: ignore[attr-defined]
        assert f"<td class=\"l\">{stage.index}</td><td class=\"l\">{stage.action}</td>" in text
    # The future forecast, step by step, with the widest interval of each model shown.
    forecast = pd.read_csv(folder / "forecast.csv")
    assert f"{forecast['recommended'].iloc[0]:.2f}" in text and "95% interval" in text
    # summary.json still comes last: the page exists whenever the run looks finished.
    assert (folder / "report.html").stat().st_mtime_ns <= (folder / "summary.json").stat().st_mtime_ns


def _panel(n: int, k: int = 3) -> object:
    t = np.arange(n)
    table = pd.concat([pd.DataFrame({"unique_id": f"s{j}", "ds": t, "y": (j + 1) * (5 + np.sin(t / 3 + j)) + 0.01 * t})
                       for j in range(k)])
    return from_long(table, season_length=1)


def _many(scope: str) -> Config:
    return Config(data=DataConfig(season_length=1), h=6, input_size=12,
                  trainer=TrainerConfig(max_epochs=2, early_stopping_patience=1, batch_size=64),
                  growth=GrowthConfig(seeds=2, max_stages=1, scope=scope, workers=1), baselines=["naive", "naive2"])


def test_local_run_gets_a_set_level_page_linking_each_series(tmp_path: Path) -> None:
    result = grow_many(_panel(120), _many("local"), run_dir=tmp_path)
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert_self_contained(text)
    assert "3 series" in text and "Scores over the series (test)" in text and "The worst series" in text
    assert all(png.startswith(PNG) for png in embedded_images(text)) and embedded_images(text)
    links = re.findall(r'<a href="([^"]+)">', text)
    assert links and all((tmp_path / link).is_file() for link in links)  # each worst series' own page
    assert {(series_folder(tmp_path, uid) / "report.html").is_file() for uid in result.table.uid} == {True}
    for model in ("LSTM", "naive", "naive2"):
        assert f"<td class=\"l\">{model}</td>" in text


def test_global_run_gets_a_set_level_page(tmp_path: Path) -> None:
    grow_many(_panel(120), _many("global"), run_dir=tmp_path)
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert_self_contained(text)
    assert "One network for every series" in text and "for every series.</b>" in text
    images = embedded_images(text)
    assert (tmp_path / "growth.png").read_bytes() in images  # the global network's growth plot
    assert "<a href" not in text  # no per-series folders to link to


def find_browser() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def render(page: Path, out: Path, browser: str) -> list[str]:
    """Screenshot ``page`` into ``out`` in a real headless browser; the page's console messages
    (errors, uncaught exceptions, refused loads: Chromium logs each as a CONSOLE line)."""
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--enable-logging=stderr", "--v=0", "--window-size=1100,1400", f"--screenshot={out}",
                           page.resolve().as_uri()], check=True, capture_output=True, text=True, timeout=120)
    return [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def test_console_messages_are_collected(tmp_path: Path) -> None:
    # The collector itself: a page with a console error and an uncaught exception yields both.
    browser = needs_browser()
    page = tmp_path / "bad.html"
    page.write_text('<html><body><p>x</p><script>console.error("bad-error"); undefinedFn();</script></body></html>')
    messages = render(page, tmp_path / "bad.png", browser)
    assert any("bad-error" in m for m in messages) and any("undefinedFn" in m for m in messages)


def needs_browser() -> str:
    """Chromium, where it exists. .ci/run installs it and sets GROWLSTM_REQUIRE_BROWSER=1, so CI
    fails rather than skips when it is missing."""
    browser = find_browser()
    if browser is None:
        if os.environ.get("GROWLSTM_REQUIRE_BROWSER") == "1":
            pytest.fail("GROWLSTM_REQUIRE_BROWSER=1 but no chromium on PATH")
        pytest.skip("no chromium (Debian: apt-get install chromium)")
    return browser


def test_report_renders_in_a_headless_browser(run: tuple[Path, object], tmp_path: Path) -> None:
    import matplotlib.image

    browser = needs_browser()
    folder, _ = run
    shot = tmp_path / "report.png"
    messages = render(folder / "report.html", shot, browser)
    assert messages == []  # no console error, no refused load, no script at all
    pixels = matplotlib.image.imread(shot)[..., :3]  # floats in [0, 1]
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    ink = (pixels.min(axis=2) < 0.6).mean()  # text, lines and plot marks
    assert ink > 0.01 and pixels.std() > 0.05  # not a blank (or one-colour) page
    # The embedded plots rendered: a block of plot colour (matplotlib's blue C0 lines) shows.
    blue = (pixels[..., 2] > 0.6) & (pixels[..., 0] < 0.3)
    assert blue.sum() > 200
