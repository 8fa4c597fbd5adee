"""The README's commands are the ones scripts/readme_examples.py runs on real data."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from readme_examples import COMMANDS  # noqa: E402


def readme_commands() -> list[str]:
    """Every `growlstm ...` line of the README's bash blocks (continuations joined, comments cut),
    less the ones that need a run of the reader's own (resume=, predict=) or start a server."""
    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", "", block)
        for line in joined.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("growlstm") and "=outputs/" not in line:
                commands.append(re.sub(r"\s+", " ", line))
    return commands


def test_every_readme_command_is_run_by_the_examples_script() -> None:
    assert readme_commands() == COMMANDS


@pytest.mark.slow
def test_the_readme_examples_run_as_shown() -> None:
    # 20-30 minutes on 2 cores: every command, as shown, on real data (see the script).
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_examples.py")], cwd=ROOT)
    assert done.returncode == 0
