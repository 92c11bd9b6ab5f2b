"""docs/api.md's worked session, run as written against a live server, so it cannot drift.

The shell block under "## A worked session" is taken from the file; only its first two
lines (the reader's own address and token) are replaced. The practice is a small one
built like the demo's: slug ``demo``, its clinician, the couple "Alder & Brook".
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from django_scopes import scope

from practice import tokens
from practice.models import Role
from tests.factories import MembershipFactory, PracticeFactory, answer, make_couple, open_form
from tests.live import live_server
from tests.worker import ROOT, running_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DOCS = ROOT / "docs" / "api.md"


def worked_session() -> str:
    """The first ```sh block after the heading, as written."""
    text = DOCS.read_text()
    section = text[text.index("## A worked session") :]
    return re.search(r"```sh\n(.*?)```", section, re.DOTALL)[1]


def json_documents(text: str) -> list[dict]:
    """The JSON answers curl printed one after another (it adds no newline of its own)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        document, at = decoder.raw_decode(text, at)
        found.append(document)
    return found


def test_the_block_sets_address_and_token_in_its_first_two_lines():
    lines = worked_session().splitlines()
    assert lines[0].startswith("export ATTUNE=")
    assert lines[1].startswith("export TOKEN=")


def test_the_worked_session_runs_as_written(tmp_path):
    practice = PracticeFactory(name="Demo Practice", slug="demo")
    clinician = MembershipFactory(
        practice=practice, role=Role.CLINICIAN, user__email="clinician@demo.attune.test"
    ).user
    couple = make_couple(practice, clinician, label="Alder & Brook")
    for n in range(2):
        make_couple(practice, clinician, label=f"Cedar {n}", n=n + 1)
    occurrence = open_form(couple)
    with scope(practice=practice):
        one, two = list(couple.partners.order_by("position"))
        secret = tokens.create(practice=practice, user=clinician, name="walk-through")[1]
    answer(occurrence, one, {"pulse": 6})
    answer(occurrence, two, {"pulse": 4})
    script = worked_session().splitlines()
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    with (
        running_worker(tmp_path / "worker.log"),
        live_server(
            tmp_path / "server.log", port_offset=1, env={"EMAIL_URL": f"file://{mail_dir}"}
        ) as url,
    ):
        script[0] = f"export ATTUNE={url}/api/v1"
        script[1] = f"export TOKEN={secret}"
        run = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", "\n".join(script)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:] + log[-3000:]
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF-")
    assert "%PDF-" in run.stdout
    me, assignment, released = json_documents(run.stdout.replace("%PDF-", ""))
    assert me["memberships"][0]["practice"] == "demo"
    assert assignment["repeat"] == {"every": 1, "unit": "weeks", "until": None, "count": 8}
    assert released["released_at"] is not None
