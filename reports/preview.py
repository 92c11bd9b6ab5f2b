"""A finished PDF's pages as PNG pictures, for reading a report in the browser."""

from __future__ import annotations

import base64
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

# Enough to read on a screen; a five-page report is a few hundred kilobytes.
PREVIEW_DPI = 80
PREVIEW_TIMEOUT_S = 60


class PreviewFailed(Exception):
    """The pages could not be drawn (a damaged file, or Poppler missing or too slow)."""


def page_images(pdf: bytes) -> list[str]:
    """Each page of the PDF as a ``data:image/png`` URL, in order; raises PreviewFailed.

    Poppler's ``pdftoppm`` draws the pages (the Docker image installs it). The
    pictures are made from the stored file, so the preview is exactly what the
    partners will download, and they go into the page as data: URLs: nothing is
    written where a URL could reach it.
    """
    with tempfile.TemporaryDirectory(prefix="attune-preview-") as folder:
        source = Path(folder) / "report.pdf"
        source.write_bytes(pdf)
        program = shutil.which("pdftoppm")
        if program is None:
            log.warning("report preview failed: pdftoppm is not installed")
            raise PreviewFailed
        command = [program, "-png", "-r", str(PREVIEW_DPI), str(source), str(Path(folder) / "page")]
        try:
            subprocess.run(  # noqa: S603 - our own program and file, no shell
                command, check=True, capture_output=True, timeout=PREVIEW_TIMEOUT_S
            )
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("report preview failed: %s", type(exc).__name__)
            raise PreviewFailed from exc
        pages = sorted(Path(folder).glob("page-*.png"), key=lambda p: int(p.stem.split("-")[-1]))
        return [
            "data:image/png;base64," + base64.b64encode(page.read_bytes()).decode()
            for page in pages
        ]
