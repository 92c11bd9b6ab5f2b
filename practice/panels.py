"""Pages that show several apps' data are composed from panels each app registers.

The couple page belongs to clients and the portal home to the portal, but most of
what they show (forms, scores, alerts, reports) belongs to the apps above. Those
apps register a panel here in their ``AppConfig.ready()``, the way they register
audit actions, and the page asks every registered panel for its part of the
template context. So the page's app never imports the apps above it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Panel = Callable[..., dict[str, Any]]


class Slot:
    """One page's list of panels. Each panel returns context keys no other panel sets."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._panels: dict[str, Panel] = {}

    def register(self, key: str, panel: Panel) -> None:
        """Add (or, on a repeated ready(), replace) the panel called ``key``."""
        self._panels[key] = panel

    def context(self, **arguments: Any) -> dict[str, Any]:
        """Every panel's context, called with the page's arguments as keywords."""
        merged: dict[str, Any] = {}
        for key, panel in self._panels.items():
            part = panel(**arguments)
            clash = merged.keys() & part.keys()
            if clash:
                raise RuntimeError(f"{self.name}: panel {key} sets {sorted(clash)} again")
            merged.update(part)
        return merged


# Called with request, couple, partners, membership and tab (the couple page's open tab).
COUPLE_PAGE = Slot("couple page")
# Called with request and partner (the signed-in partner).
PORTAL_HOME = Slot("portal home")
