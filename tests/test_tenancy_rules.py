"""What docs/architecture.md says about scopes stays true.

Every ``scopes_disabled()`` carries a comment saying why (on the line above or the
same line), and every module that opens a practice scope itself is one the
architecture document names.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ["practice", "clients", "assessments", "reports", "demo"]
DISABLED = re.compile(r"\bwith\b.*\bscopes_disabled\(\)")
OPENED = re.compile(r"\bwith\b.*\bscope\(practice=")
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def source_files() -> list[Path]:
    return [
        path
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def test_every_scopes_disabled_says_why():
    unexplained = []
    for path in source_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if not DISABLED.search(line):
                continue
            above = lines[number - 1].strip() if number else ""
            if "#" not in line and not above.startswith("#"):
                unexplained.append(f"{path.relative_to(ROOT)}:{number + 1}")
    assert unexplained == []


def test_every_module_that_opens_a_scope_is_in_the_architecture_doc():
    openers = set()
    for path in source_files():
        if OPENED.search(path.read_text(encoding="utf-8")):
            relative = path.relative_to(ROOT)
            openers.add(relative.parts[0] + "/" if relative.parts[0] == "demo" else str(relative))
    entry_points = {"practice/middleware.py", "clients/portal.py", "practice/celery.py"}
    undocumented = sorted(
        name for name in openers - entry_points if f"`{name}`" not in ARCHITECTURE
    )
    assert undocumented == []
    assert "PracticeScopeMiddleware" in ARCHITECTURE and "ScopedTask" in ARCHITECTURE


def test_the_checks_would_notice():
    assert DISABLED.search("    with scopes_disabled(), transaction.atomic():")
    assert OPENED.search("        with scope(practice=export.practice):")
    assert not DISABLED.search('"""an explicit ``scopes_disabled()`` block"""')
