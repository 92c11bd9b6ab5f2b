"""schemathesis against the live schema: no 5xx for any input, every response as documented.

Runs the real CLI against pytest's live server (a real HTTP server over the
test database), as the owner, a clinician and an assistant with personal tokens,
and as a partner with a portal session.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django_scopes import scope

from practice import tokens
from practice.api_throttles import IpThrottle, TokenThrottle
from tests.factories import make_couple, open_form

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Phases and examples per operation for each staff role. The coverage phase (every
# parameter's boundary and invalid values; about three minutes here, whatever
# --max-examples says) runs once, as the clinician; owner and assistant get the
# generated cases, which is where their own answers (assistants' nulls, owners' extra
# operations, each role's 404s) are checked against the schema.
RUNS = {
    "clinician": ("examples,coverage,fuzzing", 6),
    "owner": ("examples,fuzzing", 5),
    "assistant": ("examples,fuzzing", 5),
}


@pytest.fixture
def unthrottled(monkeypatch):
    """Fuzzing sends thousands of requests; rate limits are tested elsewhere."""
    rates = {"token": "100000/minute", "ip": "100000/minute"}
    # DRF copies the rates into a class attribute once; patch it for this test only.
    monkeypatch.setattr(TokenThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(IpThrottle, "THROTTLE_RATES", rates)


def fuzz(
    url: str,
    headers: list[str],
    parameters: dict[str, str],
    tmp_path: Path,
    *extra: str,
    per_operation: dict[str, dict[str, str]] | None = None,
    max_examples: int = 12,
    phases: str = "examples,coverage,fuzzing",
):
    """Run the schemathesis CLI; path parameters point at real objects so calls go deep."""
    config = tmp_path / "schemathesis.toml"
    lines = ["[parameters]"] + [f'"path.{k}" = "{v}"' for k, v in parameters.items()]
    for operation_id, values in (per_operation or {}).items():
        lines += [
            "",
            "[[operations]]",
            f'include-operation-id = "{operation_id}"',
            "[operations.parameters]",
        ]
        lines += [f'"path.{k}" = "{v}"' for k, v in {**parameters, **values}.items()]
    config.write_text("\n".join(lines) + "\n")
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        f"{url}/api/v1/schema/",
        "--checks",
        CHECKS,
        "--max-examples",
        str(max_examples),
        "--seed",
        "20261125",
        "--workers",
        "1",
        "--phases",
        phases,
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
        "--suppress-health-check",
        "all",
        *[part for header in headers for part in ("-H", header)],
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.parametrize("role", ["owner", "clinician", "assistant"])
def test_no_server_errors_and_schema_conformance_as_staff(
    role, world, cases, live_server, tmp_path, unthrottled
):
    """Each role sees its own answers (an assistant's nulls, everyone's 404s for what the role
    may not do), so each role is a pass of its own."""
    user = getattr(world.a, role)
    secret = tokens.create(practice=world.a.practice, user=user, name="fuzz")[1]
    case = cases.a
    parameters = {
        "practice_slug": world.a.practice.slug,
        "couple_id": str(case.couple.uuid),
        "partner_id": str(case.partner_two.uuid),
        "occurrence_id": str(case.occurrence.uuid),
        "assignment_id": str(case.occurrence.assignment.uuid),
        "alert_id": str(case.alert.uuid),
        "instrument_id": str(case.custom_instrument.uuid),
        "report_id": str(case.report.uuid),
        "batch_id": str(case.batch.uuid),
        "export_id": str(case.export.uuid),
        "response_id": str(case.response.uuid),
        "membership_id": str(world.a.membership(world.a.assistant).uuid),
        "instrument_key": "connection-pulse",
    }
    # Calls that can take the couple off the caseload (or end a partner's access) get a
    # couple of their own, so the rest of the run keeps reaching real data.
    spare = make_couple(world.a.practice, world.a.clinician, label="Spare", n=42)
    with scope(practice=world.a.practice):
        spare_partner = spare.partners.get(position=1)
    spare_ids = {"couple_id": str(spare.uuid), "partner_id": str(spare_partner.uuid)}
    result = fuzz(
        live_server.url,
        [f"Authorization: Token {secret}"],
        parameters,
        tmp_path,
        "--exclude-path-regex",
        "^/api/v1/portal/",
        per_operation=dict.fromkeys(
            (
                "couples_partial_update",
                "partners_partial_update",
                "partners_revoke",
                "partners_invite",
                "couples_erase",
            ),
            spare_ids,
        ),
        max_examples=RUNS[role][1],
        phases=RUNS[role][0],
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert re.search(r"\b[1-9]\d* passed", result.stdout), result.stdout[-2000:]


def test_no_server_errors_and_schema_conformance_as_a_partner(
    world, cases, live_server, tmp_path, unthrottled
):
    from tests.test_portal import portal_client

    occurrence = open_form(cases.a.couple, "connection-signs")
    browser: Client = portal_client(cases.a.partner_two)
    page = browser.get(f"/portal/forms/{occurrence.uuid}/").content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in browser.cookies.items())
    result = fuzz(
        live_server.url,
        [f"Cookie: {cookies}", f"X-CSRFToken: {csrf}", f"Referer: {live_server.url}/portal/"],
        {"occurrence_id": str(occurrence.uuid)},
        tmp_path,
        "--include-path-regex",
        "^/api/v1/portal/",
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert re.search(r"\b[1-9]\d* passed", result.stdout), result.stdout[-2000:]
