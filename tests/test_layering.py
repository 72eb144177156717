"""The science never imports the engine: ``research`` minus ``workbook/`` and ``cli.py`` has
no import of either, so the dependency direction is visible and the cache key can leave the
engine out."""

from __future__ import annotations

import ast
import subprocess
import sys

from research.workbook.cache import PACKAGE_DIR, science_files


def _imports(path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            out.append(base)
            out += [
                f"{base}.{a.name}" if base.endswith(".") is False else base + a.name
                for a in node.names
            ]
    return out


def test_science_modules_never_import_the_engine():
    offenders = []
    for path in science_files():
        if path.suffix != ".py":
            continue
        for name in _imports(path):
            parts = name.lstrip(".").split(".")
            if "workbook" in parts or "cli" in parts or name.startswith("research.workbook"):
                offenders.append(f"{path.relative_to(PACKAGE_DIR)}: {name}")
    assert not offenders, offenders


def test_science_files_exclude_the_engine_and_cli():
    rel = {p.relative_to(PACKAGE_DIR).as_posix() for p in science_files()}
    assert {"stats.py", "data.py", "__init__.py", "alliances.py"} <= rel
    assert not any(r.startswith("workbook/") for r in rel) and "cli.py" not in rel


def test_importing_the_science_loads_no_engine_module():
    code = (
        "import sys, research as rs; rs.stats; rs.variables; rs.plots; rs.validate_package;"
        "bad = [m for m in sys.modules if m.startswith(('research.workbook', 'research.cli'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
