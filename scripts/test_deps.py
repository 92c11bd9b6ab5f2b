"""Make sure the system tools the test suite drives are present.

The browser tests need Debian's Chromium, the PDF tests need poppler's
pdftotext/pdfinfo/pdftoppm, the fault suite needs redis-server, and the
accessibility scans need axe-core from npm.
On a Debian machine where we are root, missing packages are installed; anywhere
else the script says what to install and fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The fault suite (tests/faults/) starts and stops Redis servers of its own.
DEBIAN_PACKAGES = {
    "chromium": "/usr/bin/chromium",
    "poppler-utils": "pdftotext",
    "redis-server": "redis-server",
}


def missing_packages() -> list[str]:
    return [pkg for pkg, probe in DEBIAN_PACKAGES.items() if not shutil.which(probe)]


def install_debian(packages: list[str]) -> bool:
    if not packages:
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"Installing {' '.join(packages)} with apt-get…", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return not missing_packages()


def install_axe() -> bool:
    if (ROOT / "node_modules/axe-core/axe.min.js").exists():
        return True
    if not shutil.which("npm"):
        return False
    print("Installing axe-core from npm…", flush=True)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=ROOT,
        check=True,
    )
    return (ROOT / "node_modules/axe-core/axe.min.js").exists()


def main() -> int:
    problems = []
    packages = missing_packages()
    if not install_debian(packages):
        problems.append(f"Debian packages: apt-get install {' '.join(missing_packages())}")
    if not install_axe():
        problems.append("axe-core: install Node.js and npm, then run `npm ci`")
    if problems:
        print("The test suite needs:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
