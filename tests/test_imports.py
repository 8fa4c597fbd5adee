"""The package's imports run one way: README's Layout lists the modules so that each imports
only modules above it, lazy (in-function) and type-checking imports included."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "growlstm"


def imports(unit: str) -> set[str]:
    """The growlstm modules (or subpackages) that module or subpackage ``unit`` imports anywhere
    in its code."""
    files = sorted((PACKAGE / unit).glob("*.py")) if (PACKAGE / unit).is_dir() else [PACKAGE / f"{unit}.py"]
    found: set[str] = set()
    for node in ast.walk(ast.parse("\n".join(f.read_text() for f in files))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "growlstm":
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
            else:  # from growlstm import data
                found |= {a.name for a in node.names if (PACKAGE / f"{a.name}.py").is_file() or (PACKAGE / a.name).is_dir()}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("growlstm.")}
    return found - {unit}


def layout_order() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text[text.index("## Layout"):]
    return re.findall(r"^  (\w+)(?:\.py|/) ", block, flags=re.M)  # modules and subpackages


def test_readme_layout_lists_every_module_in_an_order_the_imports_follow() -> None:
    order = layout_order()
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    modules |= {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert sorted(order) == sorted(modules)
    rank = {name: k for k, name in enumerate(order)}
    upward = [f"{name} imports {other}" for name in order for other in sorted(imports(name))
              if rank[other] > rank[name]]
    assert upward == [], "a module imports one listed below it (an import circle, or the README's order is stale)"
