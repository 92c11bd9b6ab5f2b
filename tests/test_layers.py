"""The layer contract holds, and it would catch an import that points up.

import-linter reads the contract from pyproject.toml; ``make lint`` runs it. These
tests run it on the tree as it is, and on a copy with one upward import added,
which must fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ["practice", "clients", "assessments", "reports", "demo"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_tree_keeps_the_layer_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def copy_of_the_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for app in APPS:
        shutil.copytree(
            ROOT / app,
            tree / app,
            ignore=shutil.ignore_patterns("templates", "locale", "library", "__pycache__"),
        )
    shutil.move(tmp_path / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_an_import_pointing_up_breaks_the_contract(tmp_path):
    tree = copy_of_the_tree(tmp_path)
    assert lint_imports(tree).returncode == 0  # the copy alone is fine
    (tree / "clients" / "upward.py").write_text("from reports.models import Report\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "clients is not allowed to import reports" in result.stdout
    assert "clients.upward -> reports.models" in result.stdout


def test_a_function_local_import_pointing_up_is_caught_too(tmp_path):
    tree = copy_of_the_tree(tmp_path)
    (tree / "practice" / "upward.py").write_text(
        "def later() -> None:\n    from assessments import caseload  # noqa: F401\n"
    )
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "practice is not allowed to import assessments" in result.stdout
