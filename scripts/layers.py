"""Draw the layer contract from pyproject.toml into docs/architecture.md.

    .venv/bin/python scripts/layers.py          # rewrite the diagram in the docs
    .venv/bin/python scripts/layers.py --check  # fail if the docs are out of date

The diagram (Mermaid, which GitHub renders) sits between two marker comments in
docs/architecture.md. It is made from the import-linter contract alone, so the
picture and the rule `make lint` enforces cannot drift apart.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
START = "<!-- layers:start (scripts/layers.py writes this part) -->"
END = "<!-- layers:end -->"


def layer_contract(pyproject: Path) -> dict[str, object]:
    """The contract of type "layers" in pyproject.toml's import-linter table."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layered = [c for c in contracts if c.get("type") == "layers"]
    if len(layered) != 1:
        raise SystemExit(f"expected one layers contract in {pyproject}, found {len(layered)}")
    return layered[0]


def diagram(contract: dict[str, object]) -> str:
    """Markdown: a Mermaid graph of the layers, top to bottom, and the named exceptions."""
    layers = [str(layer) for layer in contract["layers"]]  # type: ignore[attr-defined]
    ignored = [str(rule) for rule in contract.get("ignore_imports", [])]  # type: ignore[attr-defined]
    lines = ["```mermaid", "flowchart TD"]
    lines += [f"    {name}[{name}/]" for name in layers]
    lines += [f"    {upper} --> {lower}" for upper, lower in pairwise(layers)]
    lines.append("```")
    lines.append("")
    lines.append(
        f"{contract['name']}. An app may import any app below it, never one above; "
        "function-local imports count too."
    )
    if ignored:
        lines.append("")
        lines.append("The only imports excused, each a file whose job is to tie the apps together:")
        lines.append("")
        lines += [f"- `{rule}`" for rule in ignored]
    return "\n".join(lines)


def with_diagram(document: str, block: str) -> str:
    """The document with the text between the markers replaced by the block."""
    before, found, rest = document.partition(START)
    _, found_end, after = rest.partition(END)
    if not found or not found_end:
        raise SystemExit(f"{DOC} needs the markers {START!r} and {END!r}")
    return f"{before}{START}\n{block}\n{END}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the docs are stale")
    args = parser.parse_args(argv)
    current = DOC.read_text(encoding="utf-8")
    wanted = with_diagram(current, diagram(layer_contract(ROOT / "pyproject.toml")))
    if args.check:
        if wanted != current:
            print(f"{DOC.relative_to(ROOT)} is out of date: run scripts/layers.py", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        DOC.write_text(wanted, encoding="utf-8")
        print(f"wrote the layer diagram into {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
