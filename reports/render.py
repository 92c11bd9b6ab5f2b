"""Frozen report data in, PDF bytes out. Previews and the Celery task share this renderer.

WeasyPrint may fetch nothing from the network or the disk except our own
static files and inline ``data:`` URIs: a couple label, a note or a partner
name cannot make it load ``http://…``, ``file:///etc/passwd`` or a CSS
``url()``. Templates are autoescaped as everywhere else.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import translation

from reports import charts_for_report
from reports.records import Snapshot

log = logging.getLogger(__name__)

PDF_VARIANT = "pdf/ua-1"


class FetchRefused(ValueError):
    """A resource outside what reports may embed."""


def _static_roots() -> list[Path]:
    roots = [Path(settings.STATIC_ROOT)] + [Path(p) for p in settings.STATICFILES_DIRS]
    return [root.resolve() for root in roots if root.exists()]


def safe_fetcher() -> Any:
    """A WeasyPrint URL fetcher for data: URIs and our own static files only."""
    from urllib import request

    from weasyprint.urls import HTTP_HEADERS, URLFetcher

    class SafeURLFetcher(URLFetcher):
        def __init__(self) -> None:
            # Only the data: and file: handlers: no HTTP(S) handler (and no SSL context,
            # which alone cost ~17 ms per report) is ever built.
            request.OpenerDirector.__init__(self)
            for handler in (request.DataHandler(), request.FileHandler(), request.UnknownHandler()):
                self.add_handler(handler)
            self._timeout = 5
            self._http_headers = dict(HTTP_HEADERS)
            self._allowed_protocols = {"data", "file"}
            self._fail_on_errors = False
            self._request = None
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(unquote(parts.path)).resolve()
                if path.is_file() and any(path.is_relative_to(r) for r in _static_roots()):
                    return super().fetch(url, headers)
            self.refused.append(scheme or "relative")
            log.warning("report renderer refused to fetch a %s resource", scheme or "relative")
            raise FetchRefused("reports may only embed their own static files")

    return SafeURLFetcher()


def html_to_pdf(html: str, fetcher: Any = None) -> bytes:
    """Render HTML with WeasyPrint as tagged PDF/UA-1, fetching only what is safe."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=_base_url(), url_fetcher=fetcher or safe_fetcher())
    return document.write_pdf(pdf_variant=PDF_VARIANT)


def report_html(snapshot: Snapshot) -> str:
    """The report as HTML, from its frozen snapshot (used for the PDF and for previews)."""
    language = snapshot.get("language", "en")
    with translation.override(language):
        context = {
            "s": snapshot,
            "charts": charts_for_report.build(snapshot),
            "css": _report_css(),
        }
        return render_to_string(f"reports/pdf/{snapshot['kind']}.html", context)


def render(snapshot: Snapshot) -> bytes:
    """The PDF of a frozen snapshot."""
    return html_to_pdf(report_html(snapshot))


@cache
def _report_css() -> str:
    """The report stylesheet, inlined (static files do not change while a process runs)."""
    path = finders.find("css/report.css")
    return Path(path).read_text() if path else ""


@cache
def _base_url() -> str | None:
    path = finders.find("css/report.css")
    return Path(path).parent.as_uri() + "/" if path else None
