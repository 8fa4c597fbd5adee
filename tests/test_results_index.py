"""scripts/results/ and its index agree, and docs/results.md is what scripts/results_index.py builds."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "scripts" / "results"


def _module():
    spec = importlib.util.spec_from_file_location("results_index", ROOT / "scripts" / "results_index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


results_index = _module()


@pytest.fixture(scope="module")
def entries() -> list[dict]:
    return results_index.load()


def test_every_result_file_is_indexed_once_and_every_indexed_file_exists(entries: list[dict]) -> None:
    indexed = [f for e in entries for f in e["files"]]
    on_disk = sorted(str(p.relative_to(RESULTS)) for p in RESULTS.rglob("*") if p.is_file() and p.name != "index.yaml")
    assert len(indexed) == len(set(indexed)), "a file belongs to two entries"
    assert sorted(set(on_disk) - set(indexed)) == [], "files in scripts/results/ missing from index.yaml"
    assert sorted(set(indexed) - set(on_disk)) == [], "index.yaml names files that are not in scripts/results/"


def test_every_entry_has_a_command_a_date_and_unique_id(entries: list[dict]) -> None:
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids))
    for entry in entries:
        assert str(entry["command"]).startswith("python scripts/"), entry["id"]
        dt.date.fromisoformat(str(entry["date"]))  # a real date, YYYY-MM-DD
        assert "|" not in entry["finding"] and "|" not in entry["topic"], entry["id"]  # they go into a table


def test_an_entry_without_a_command_is_refused(tmp_path: Path) -> None:
    index = tmp_path / "index.yaml"
    index.write_text("results:\n- {id: x, title: t, files: [x.md], command: '', date: '2026-01-01', topic: t, finding: f}\n")
    with pytest.raises(SystemExit, match="lacks command"):
        results_index.load(index)


def test_docs_results_md_is_generated_from_the_index(entries: list[dict]) -> None:
    expected = results_index.render(entries)
    assert (ROOT / "docs" / "results.md").read_text() == expected, "run python scripts/results_index.py"
    for entry in entries:
        assert f"### {entry['id']}" in expected and entry["command"] in expected
