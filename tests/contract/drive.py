"""An integrator's script: drives a live Attune through a client generated from
docs/openapi.yaml, and nothing else.

Every call goes through the generated functions and every answer is parsed by the
generated models (an answer the schema does not describe raises). As the owner, the
clinician and the assistant it pages through every list, creates a couple, assigns a
form and invites the partners; each partner signs in with the link from their email,
answers and submits through the portal API; clinical staff then ask for a report,
poll it and download the PDF. Prints one JSON line of counts at the end.

Run by tests/test_contract.py with the generated package on PYTHONPATH:
    python drive.py SETTINGS_JSON
"""

from __future__ import annotations

import datetime
import json
import re
import sys
import time
from email import message_from_string
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from attune_api_client import AuthenticatedClient, Client
from attune_api_client.api.alerts import alerts_list
from attune_api_client.api.assignments import assignments_create, assignments_list
from attune_api_client.api.audit import audit_list
from attune_api_client.api.couples import (
    couples_create,
    couples_list,
    couples_retrieve,
    notes_list,
    partners_invite,
)
from attune_api_client.api.exports import exports_list
from attune_api_client.api.instruments import instruments_list
from attune_api_client.api.members import members_list
from attune_api_client.api.portal import (
    portal_forms_answers_partial_update,
    portal_forms_list,
    portal_forms_submit_create,
    portal_session_create,
)
from attune_api_client.api.practices import me_retrieve, practices_list
from attune_api_client.api.reports import (
    reports_create,
    reports_download,
    reports_list,
    reports_retrieve,
)
from attune_api_client.api.responses import responses_list
from attune_api_client.models import (
    Assignment,
    AssignmentCreateRequest,
    Couple,
    CoupleCreateRequest,
    DownloadRequestRequest,
    Error,
    FormProgress,
    InvitationResult,
    LinkTokenRequest,
    Me,
    PartnerInputRequest,
    PatchedAnswersRequest,
    PatchedAnswersRequestAnswers,
    PortalSession,
    Report,
    ReportCreateRequest,
    ReportKindEnum,
)
from attune_api_client.types import File

COUNTS: dict[str, int] = {}


def count(name: str, n: int = 1) -> None:
    COUNTS[name] = COUNTS.get(name, 0) + n


def ok(parsed: Any, model: type | tuple[type, ...]) -> Any:
    """The parsed answer, which must be the documented success model, not an Error."""
    if isinstance(parsed, Error):
        raise AssertionError(f"{parsed.error.code}: {parsed.error.message} {parsed.error.fields}")
    if not isinstance(parsed, model):
        raise AssertionError(f"expected {model}, got {parsed!r}")
    count("parsed")
    return parsed


def refused(parsed: Any, code: str) -> None:
    """The parsed answer is the documented Error with this code."""
    if not isinstance(parsed, Error) or parsed.error.code != code:
        raise AssertionError(f"expected error {code}, got {parsed!r}")
    count("parsed")


def cursor_of(url: str | None) -> str | None:
    if url is None:
        return None
    return parse_qs(urlsplit(url).query)["cursor"][0]


def every_page(function: Any, *args: Any, **kwargs: Any) -> list[Any]:
    """Every result of a paged list, two at a time, following `next` by its cursor."""
    rows: list[Any] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = function.sync(*args, limit=3, cursor=cursor or _unset(), **kwargs)
        if isinstance(page, Error):
            raise AssertionError(f"{function.__name__}: {page.error.code}")
        count("parsed")
        rows += page.results
        pages += 1
        cursor = cursor_of(page.next_)
        if cursor is None:
            break
        if pages > 500:
            raise AssertionError("paging does not end")
    count("pages", pages)
    return rows


def _unset() -> Any:
    from attune_api_client.types import UNSET

    return UNSET


def page_every_list(client: AuthenticatedClient, slug: str, role: str) -> dict[str, int]:
    """Each list the API has, as this role; what the role may not see answers 404."""
    clinical = role in {"owner", "clinician"}
    seen: dict[str, int] = {}
    couples = every_page(couples_list, slug, client=client)
    seen["couples"] = len(couples)
    for couple in couples:
        ok(couple, Couple)
        # One shape for every role: the clinical fields are there, null for assistants.
        assert (couple.connection is None) is (not clinical), couple.uuid
        assert (couple.open_alerts is None) is (not clinical), couple.uuid
    seen["instruments"] = len(ok(instruments_list.sync(slug, client=client), list))
    some = couples[0].uuid
    seen["assignments"] = len(ok(assignments_list.sync(slug, some, client=client), list))
    if clinical:
        seen["alerts"] = len(every_page(alerts_list, slug, client=client))
        seen["reports"] = len(every_page(reports_list, slug, client=client))
        seen["responses"] = len(every_page(responses_list, slug, some, client=client))
        seen["notes"] = len(ok(notes_list.sync(slug, some, client=client), list))
    else:
        refused(alerts_list.sync(slug, client=client), "not_found")
        refused(reports_list.sync(slug, client=client), "not_found")
        refused(responses_list.sync(slug, some, client=client), "not_found")
        refused(notes_list.sync(slug, some, client=client), "not_found")
    if role == "owner":
        seen["audit"] = len(every_page(audit_list, slug, client=client))
        seen["members"] = len(ok(members_list.sync(slug, client=client), list))
        seen["exports"] = len(ok(exports_list.sync(slug, client=client), list))
    else:
        refused(audit_list.sync(slug, client=client), "not_found")
        refused(members_list.sync(slug, client=client), "not_found")
        refused(exports_list.sync(slug, client=client), "not_found")
    return seen


def invitation_token(mail_dir: Path, email: str) -> str:
    """The link token from the newest email to this address (Django's file mail backend:
    one file per sending, messages separated by a line of 79 dashes)."""
    for _ in range(50):
        for path in sorted(mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
            for raw in path.read_text().split("\n" + "-" * 79 + "\n"):
                message = message_from_string(raw.strip())
                if message["To"] != email:
                    continue
                body = message.get_payload(decode=True).decode()
                found = re.findall(r"/portal/enter/([^/\s]+)/", body)
                if found:
                    return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no invitation email to {email}")


def as_partner(base_url: str, token: str, answer: int) -> str:
    """Sign in with the emailed link, answer the open form and submit it."""
    partner = Client(base_url=base_url, raise_on_unexpected_status=True)
    session = ok(
        portal_session_create.sync(client=partner, body=LinkTokenRequest(token=token)),
        PortalSession,
    )
    partner.with_headers({"X-CSRFToken": session.csrf_token})  # updates this client in place
    forms = ok(portal_forms_list.sync(client=partner), list)
    assert forms, "the partner has no open form"
    form = forms[0]
    answers = PatchedAnswersRequestAnswers.from_dict({"pulse": answer})
    saved = portal_forms_answers_partial_update.sync(
        form.occurrence, client=partner, body=PatchedAnswersRequest(answers=answers)
    )
    assert ok(saved, FormProgress).answered == 1
    submitted = ok(portal_forms_submit_create.sync(form.occurrence, client=partner), FormProgress)
    assert submitted.submitted
    return str(form.occurrence)


def journey(
    client: AuthenticatedClient, settings: dict[str, Any], role: str, n: int
) -> dict[str, Any]:
    """Create a couple, assign the pulse, have both partners answer; clinical staff then
    get the couple report as a PDF."""
    slug, base_url, mail_dir = settings["slug"], settings["base_url"], Path(settings["mail_dir"])
    me = ok(me_retrieve.sync(client=client), Me)
    assert [m.role.value for m in me.memberships] == [role]
    emails = [f"{role}.{n}.{side}@contract.example" for side in ("one", "two")]
    couple = ok(
        couples_create.sync(
            slug,
            client=client,
            body=CoupleCreateRequest(
                label=f"Contract {role}",
                partners=[
                    PartnerInputRequest(display_name=f"{role} one", email=emails[0]),
                    PartnerInputRequest(display_name=f"{role} two", email=emails[1]),
                ],
            ),
        ),
        Couple,
    )
    if role == "clinician":  # created without naming clinicians: they are its clinician
        assert [c.uuid for c in couple.clinicians] == [me.uuid]
    ok(couples_retrieve.sync(slug, couple.uuid, client=client), Couple)
    pulse = next(
        i
        for i in ok(instruments_list.sync(slug, client=client), list)
        if i.key == "connection-pulse"
    )
    today = datetime.datetime.now(datetime.UTC).date()
    assignment = ok(
        assignments_create.sync(
            slug,
            couple.uuid,
            client=client,
            body=AssignmentCreateRequest(instrument=pulse.uuid, first_due=today),
        ),
        Assignment,
    )
    assert assignment.status.value == "active"  # its form is open: not finished yet
    for partner in couple.partners:
        ok(partners_invite.sync(slug, couple.uuid, partner.uuid, client=client), InvitationResult)
    for position, email in enumerate(emails):
        as_partner(base_url, invitation_token(mail_dir, email), answer=5 + position)
    count("partners_submitted", 2)
    finished = ok(assignments_list.sync(slug, couple.uuid, client=client), list)
    assert [a.status.value for a in finished] == ["finished"]
    period = {"period_start": today - datetime.timedelta(days=30), "period_end": today}
    body = ReportCreateRequest(kind=ReportKindEnum.COUPLE, **period)
    if role == "assistant":
        refused(reports_create.sync(slug, couple.uuid, client=client, body=body), "not_found")
        return {"couple": str(couple.uuid)}
    report = ok(reports_create.sync(slug, couple.uuid, client=client, body=body), Report)
    deadline = time.monotonic() + 120
    while report.status.value in {"queued", "rendering"}:
        if time.monotonic() > deadline:
            raise AssertionError(f"report still {report.status.value}")
        time.sleep(0.5)
        report = ok(reports_retrieve.sync(slug, report.uuid, client=client), Report)
        count("polls")
    assert report.status.value == "ready", (report.status, report.error)
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    pdf = reports_download.sync(
        client=anonymous, body=DownloadRequestRequest(token=report.download_token)
    )
    pdf = ok(pdf, File)
    content = pdf.payload.read()
    assert content.startswith(b"%PDF"), content[:20]
    count("pdf_bytes", len(content))
    refused(
        reports_download.sync(client=anonymous, body=DownloadRequestRequest(token="forged")),
        "not_found",
    )
    return {"couple": str(couple.uuid), "report": str(report.uuid)}


def main() -> None:
    settings = json.loads(sys.argv[1])
    lists: dict[str, dict[str, int]] = {}
    journeys: dict[str, Any] = {}
    clients = {
        role: AuthenticatedClient(
            base_url=settings["base_url"],
            token=token,
            prefix="Token",
            raise_on_unexpected_status=True,
        )
        for role, token in settings["tokens"].items()
    }
    for n, (role, client) in enumerate(clients.items()):
        slugs = [p.slug for p in ok(practices_list.sync(client=client), list)]
        assert slugs == [settings["slug"]], slugs
        journeys[role] = journey(client, settings, role, n)
    for role, client in clients.items():
        lists[role] = page_every_list(client, settings["slug"], role)
    print(json.dumps({"lists": lists, "journeys": journeys, "counts": COUNTS}))


if __name__ == "__main__":
    main()
