"""WSGI app and URLconf for bench/api.py: the app's own URLs plus a bare "ceiling" endpoint.

    gunicorn bench.bench_urls:application -w 2 -b 127.0.0.1:8123

Everything under the app's URLs behaves exactly as with ``practice.wsgi``
(same settings, same middleware); the only additions are two plain DRF APIViews
with no authentication, permissions, throttles, paging, audit or serializer,
returning the first page of the benchmark clinician's active couples (ordered
like the couple list API), built from ``.values()`` rows:

* ``/bench/ceiling/``: the issue's ceiling, "the same JSON body from a plain
  table read": each couple's row joined to its caseload summary, its partners
  and its clinicians, turned into exactly the couple list's ``results``
  (bench/api.py checks that they are equal).
* ``/bench/ceiling-min/``: the ceiling measured before 2026-12-05 03:00 UTC,
  with less in its body (uuid, label, status, start date, partners' uuids and
  names, clinicians): kept so that old and new figures can be compared.

BENCH_CEILING_PRACTICE and BENCH_CEILING_CLINICIAN name the practice slug and
the clinician's email (bench/api.py sets both).
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "practice.settings")

import django
from django.conf import settings

django.setup()
# Serve this module's URLs instead of practice.urls (it includes them all).
settings.ROOT_URLCONF = "bench.bench_urls"

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_scopes import scopes_disabled  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from clients.models import Couple, CoupleStatus, Partner  # noqa: E402

PRACTICE_SLUG = os.environ.get("BENCH_CEILING_PRACTICE", "bench-api")
CLINICIAN_EMAIL = os.environ.get("BENCH_CEILING_CLINICIAN", "clinician@bench-api.test")


def _first_page(limit: int) -> list[dict[str, Any]]:
    # Unscoped: the ceiling has no membership to open a scope from (it names its practice).
    with scopes_disabled():
        return list(
            Couple.objects.filter(
                practice__slug=PRACTICE_SLUG,
                clinicians__email=CLINICIAN_EMAIL,
                status=CoupleStatus.ACTIVE,
            )
            .order_by("label", "id")
            .values(
                "id",
                "uuid",
                "label",
                "status",
                "start_date",
                "monthly_report",
                "summary__next_due",
                "summary__partner_forms",
                "summary__open_first_due",
                "summary__open_last_due",
                "summary__untouched_first_due",
                "summary__done_forms",
                "summary__one_latest",
                "summary__one_previous",
                "summary__two_latest",
                "summary__two_previous",
                "summary__alert_count",
            )[:limit]
        )


def _people(ids: list[int], partner_fields: tuple[str, ...]) -> dict[int, dict[str, list[Any]]]:
    by_couple: dict[int, dict[str, list[Any]]] = {
        i: {"partners": [], "clinicians": []} for i in ids
    }
    with scopes_disabled():
        partners = Partner.objects.filter(couple_id__in=ids).order_by("couple_id", "position")
        for row in partners.values("couple_id", *partner_fields):
            by_couple[row.pop("couple_id")]["partners"].append(row)
        links = Couple.clinicians.through.objects.filter(couple_id__in=ids).order_by(
            "couple_id", "user__full_name", "user_id"
        )
        for couple_id, uuid, name in links.values_list(
            "couple_id", "user__uuid", "user__full_name"
        ):
            by_couple[couple_id]["clinicians"].append({"uuid": uuid, "full_name": name})
    return by_couple


def _progress(row: dict[str, Any], today: date) -> str:
    first, last = row["summary__open_first_due"], row["summary__open_last_due"]
    untouched = row["summary__untouched_first_due"]
    if first is not None and first < today:
        return "overdue"
    if untouched is not None and untouched <= today:
        return "not_started"
    if first is not None and first <= today:
        return "one_partner_done"
    if (row["summary__done_forms"] or 0) > 0:
        return "both_done"
    if last is not None and last > today:
        return "nothing_due"
    return "none"


def _trend(latest: float | None, previous: float | None) -> str:
    if latest is None or previous is None:
        return ""
    return "up" if latest > previous else "down" if latest < previous else "flat"


def _forms(stored: dict[str, Any], today: date) -> dict[str, Any]:
    dues = [date.fromisoformat(d) for d in stored.get("open", [])]
    later = [d for d in dues if d > today]
    return {
        "overdue": sum(d < today for d in dues),
        "due": sum(d <= today for d in dues),
        "coming": min(later) if later else None,
        "done": stored.get("done", 0),
    }


class CeilingView(APIView):
    """The couple list's first page, the same JSON, from plain reads with nothing around them."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []

    def get(self, request: Request) -> Response:
        today = timezone.localdate()
        couples = _first_page(min(int(request.query_params.get("limit", 50)), 200))
        people = _people(
            [c["id"] for c in couples],
            ("uuid", "position", "display_name", "email", "phone", "language", "portal_state"),
        )
        results = []
        for c in couples:
            partners = people[c["id"]]["partners"]
            stored = list(c["summary__partner_forms"] or [])
            stored += [{}] * (len(partners) - len(stored))
            scores = [
                (c["summary__one_latest"], c["summary__one_previous"]),
                (c["summary__two_latest"], c["summary__two_previous"]),
            ]
            results.append(
                {
                    "uuid": c["uuid"],
                    "label": c["label"],
                    "status": c["status"],
                    "start_date": c["start_date"],
                    "monthly_report": c["monthly_report"],
                    "partners": partners,
                    "clinicians": people[c["id"]]["clinicians"],
                    "progress": _progress(c, today),
                    "forms": [
                        {"partner": p["uuid"], **_forms(f, today)}
                        for p, f in zip(partners, stored, strict=False)
                    ],
                    "next_due": c["summary__next_due"],
                    "connection": [
                        {"partner": p["uuid"], "latest": a, "previous": b, "trend": _trend(a, b)}
                        for p, (a, b) in zip(partners, scores, strict=False)
                    ],
                    "open_alerts": c["summary__alert_count"] or 0,
                }
            )
        return Response({"next": None, "previous": None, "results": results})


class MinimalCeilingView(APIView):
    """The ceiling before 2026-12-05: fewer fields than the couple list, no summary."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []

    def get(self, request: Request) -> Response:
        limit = min(int(request.query_params.get("limit", 50)), 200)
        with scopes_disabled():
            couples = list(
                Couple.objects.filter(
                    practice__slug=PRACTICE_SLUG,
                    clinicians__email=CLINICIAN_EMAIL,
                    status=CoupleStatus.ACTIVE,
                )
                .order_by("label", "id")
                .values("id", "uuid", "label", "status", "start_date")[:limit]
            )
        people = _people([c["id"] for c in couples], ("uuid", "display_name"))
        results = [{**c, **people[c.pop("id")]} for c in couples]
        return Response({"next": None, "previous": None, "results": results})


urlpatterns = [
    path("bench/ceiling/", CeilingView.as_view(), name="bench-ceiling"),
    path("bench/ceiling-min/", MinimalCeilingView.as_view(), name="bench-ceiling-min"),
    path("", include("practice.urls")),
]

application = get_wsgi_application()
