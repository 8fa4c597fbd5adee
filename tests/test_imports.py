"""The package's imports run one way: docs/layout.md lists the modules so that each imports
only modules above it, lazy (in-function) and type-checking imports included."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "growlstm"
LAYOUT = ROOT / "docs" / "layout.md"


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
    block = LAYOUT.read_text()
    return re.findall(r"^  (\w+)(?:\.py|/) ", block, flags=re.M)  # modules and subpackages


def test_readme_layout_lists_every_module_in_an_order_the_imports_follow() -> None:
    order = layout_order()
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    modules |= {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert sorted(order) == sorted(modules)
    rank = {name: k for k, name in enumerate(order)}
    upward = [f"{name} imports {other}" for name in order for other in sorted(imports(name))
              if rank[other] > rank[name]]
    assert upward == [], "a module imports one listed below it (an import circle, or docs/layout.md's order is stale)"


def package_layout(package: str) -> list[str]:
    """The modules docs/layout.md lists under ``package/``, in order."""
    text = LAYOUT.read_text()
    block = text[text.index(f"\n  {package}/ "):]
    listed = []
    for line in block.splitlines()[2:]:  # after the package's own line
        found = re.match(r"^    (\w+)\.py ", line)
        if not found:
            break
        listed.append(found.group(1))
    return listed


def inner_imports(package: str, path: Path) -> set[str]:
    """The modules of ``package`` that ``path`` imports; importing the package itself counts as
    importing every module its ``__init__`` imports (they load first)."""
    names = {p.stem for p in (PACKAGE / package).glob("*.py")}
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(f"growlstm.{package}"):
            parts = node.module.split(".")
            if len(parts) > 2:
                found.add(parts[2])
            else:
                found |= {a.name for a in node.names if a.name in names} or {"__init__"}
    if "__init__" in found and path.stem != "__init__":
        found = (found - {"__init__"}) | inner_imports(package, PACKAGE / package / "__init__.py")
    return found - {path.stem, "__init__"}


def test_each_subpackage_lists_its_modules_in_an_order_their_imports_follow() -> None:
    for package in sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py")):
        order = package_layout(package)
        assert sorted(order) == sorted(p.stem for p in (PACKAGE / package).glob("*.py") if p.stem != "__init__"), package
        rank = {name: k for k, name in enumerate(order)}
        upward = [f"{package}.{name} imports {package}.{other}" for name in order
                  for other in sorted(inner_imports(package, PACKAGE / package / f"{name}.py")) if rank[other] > rank[name]]
        assert upward == [], upward
