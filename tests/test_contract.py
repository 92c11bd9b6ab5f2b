"""The contract as an integrator meets it: a client generated from the committed
docs/openapi.yaml drives a real server (gunicorn, a Celery worker, PostgreSQL) as the
owner, the clinician and the assistant, with no HTTP of its own (tests/contract/drive.py).

The generator runs offline on the committed file, into a temporary folder, at test time:
if the schema stops describing what the server does, the generated models refuse the
answers and this fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from practice import tokens
from practice.api_throttles import IpThrottle, TokenThrottle
from tests.live import live_server
from tests.worker import ROOT, running_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
CONTRACT = ROOT / "tests" / "contract"


def generate_client(into: Path) -> Path:
    """Generate the Python client from the committed schema; returns the folder to import from."""
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(ROOT / "docs" / "openapi.yaml"),
            "--config",
            str(CONTRACT / "client.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(into / "attune_api_client"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # A warning means some operation or answer was left out of the client.
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    return into


@pytest.fixture
def unthrottled(monkeypatch):
    rates = {"token": "100000/minute", "ip": "100000/minute"}
    monkeypatch.setattr(TokenThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(IpThrottle, "THROTTLE_RATES", rates)


def test_a_generated_client_drives_the_api_as_every_role(world, cases, tmp_path, unthrottled):
    generated = generate_client(tmp_path / "client")
    practice = world.a.practice
    secrets = {
        role: tokens.create(practice=practice, user=user, name="contract")[1]
        for role, user in (
            ("owner", world.a.owner),
            ("clinician", world.a.clinician),
            ("assistant", world.a.assistant),
        )
    }
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    server_log = tmp_path / "server.log"
    with (
        running_worker(tmp_path / "worker.log"),
        live_server(
            server_log,
            port_offset=0,
            env={
                "EMAIL_URL": f"file://{mail_dir}",
                "API_RATE_PER_TOKEN": "100000/minute",
                "API_RATE_PER_IP": "100000/minute",
            },
        ) as url,
    ):
        settings = {
            "base_url": url,
            "slug": practice.slug,
            "tokens": secrets,
            "mail_dir": str(mail_dir),
        }
        run = subprocess.run(
            [sys.executable, str(CONTRACT / "drive.py"), json.dumps(settings)],
            env={**os.environ, "PYTHONPATH": str(generated)},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    log = server_log.read_text(errors="replace")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:] + log[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    lists, counts = summary["lists"], summary["counts"]
    assert set(lists) == {"owner", "clinician", "assistant"}
    # Owners and assistants see every couple (the fixture's, and the three made here);
    # the clinician sees the fixture's and their own, not the assistant's unassigned one.
    assert lists["owner"]["couples"] == lists["assistant"]["couples"] == 4
    assert lists["clinician"]["couples"] == 2
    assert counts["partners_submitted"] == 6
    assert counts["pdf_bytes"] > 1000
    assert counts["pages"] > 10  # paged by cursor, not one long page
    assert {"report"} <= set(summary["journeys"]["owner"])
    # The download token travels in the body: no request line in the access log holds one.
    assert "/api/v1/files/reports/" in log
    assert "token=" not in log
