"""Walk the URLconf so that every route is checked, including routes added later."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "p/<slug:practice_slug>/couples/<uuid:couple_id>/"
    name: str
    callback: Any

    @property
    def params(self) -> list[str]:
        return [m.group("name") for m in _PARAM.finditer(self.template)]

    def methods(self) -> list[str]:
        """The HTTP methods the view answers, GET first if it has one."""
        view_class = getattr(self.callback, "view_class", None) or getattr(
            self.callback, "cls", None
        )
        if view_class is not None:
            actions = getattr(self.callback, "actions", None)
            if actions:
                names = {method.upper() for method in actions}
            else:
                names = {
                    method.upper()
                    for method in view_class.http_method_names
                    if hasattr(view_class, method) and method not in {"options", "head"}
                }
        else:
            allowed = getattr(self.callback, "allowed_methods", None)
            names = set(allowed) if allowed else {"GET"}
        names.discard("OPTIONS")
        names.discard("HEAD")
        return sorted(names, key=lambda m: (m != "GET", m))

    def url(self, values: dict[str, str]) -> str:
        def fill(match: re.Match[str]) -> str:
            return str(values[match.group("name")])

        return "/" + _PARAM.sub(fill, self.template)


def routes(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[Route]:
    """Every routed view of the project, with its full path template.

    Regex-based routes (Django's admin) are skipped; they have their own test.
    """
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        pattern = entry.pattern
        if isinstance(pattern, RegexPattern):
            continue
        assert isinstance(pattern, RoutePattern)
        template = prefix + str(pattern)
        if isinstance(entry, URLResolver):
            yield from routes(entry, template)
        elif isinstance(entry, URLPattern):
            yield Route(template, entry.name or "", entry.callback)
