"""The front door and the docs: a short README, every relative link resolving, and docs/options.md
the same as what the config dataclasses generate (so it cannot drift)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but - and _ dropped, spaces to hyphens."""
    return re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", heading.strip().lower()))


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {slug(m) for m in re.findall(r"^#+\s+(.*)$", text, flags=re.M)}


def links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return [a or b for a, b in LINK.findall(text)]


def test_every_relative_link_resolves() -> None:
    broken = []
    for page in PAGES:
        for target in links(page):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            if not dest.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []


def test_the_link_checker_finds_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("# A title\n[ok](#a-title) [bad](missing.md) ![pic](x.png)\n")
    assert links(page) == ["#a-title", "missing.md", "x.png"] and "a-title" in anchors(page)


def test_readme_is_short_and_gives_exactly_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 300
    block = re.search(r"## Two commands\s+```bash\n(.*?)```", text, flags=re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make run", "make test"]
    assert len(PAGES) - 1 >= 3  # at least three docs pages


def test_options_page_is_what_the_dataclasses_generate() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "options_doc.py"), "--check"], cwd=ROOT)
    assert done.returncode == 0, "docs/options.md is stale: run python scripts/options_doc.py"


def test_options_page_lists_every_field_and_none_else() -> None:
    import dataclasses

    from growlstm.config import Config

    names = set()
    for f in dataclasses.fields(Config):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        if dataclasses.is_dataclass(default):
            names |= {f"{f.name}.{g.name}" for g in dataclasses.fields(default)}
        else:
            names.add(f.name)
    listed = set(re.findall(r"^\| `([\w.]+)` \|", (ROOT / "docs" / "options.md").read_text(), flags=re.M))
    assert listed == names
    assert "| `growth.lookbacks` | `[]` |" in (ROOT / "docs" / "options.md").read_text()


def test_help_points_to_the_options_page() -> None:
    done = subprocess.run([sys.executable, "-m", "growlstm", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and "docs/options.md" in done.stdout
