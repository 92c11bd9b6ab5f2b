"""WSGI app and URLconf for bench/api.py: the app's own URLs plus a bare "ceiling" endpoint.

    gunicorn bench.bench_urls:application -w 2 -b 127.0.0.1:8123

Everything under the app's URLs behaves exactly as with ``practice.wsgi``
(same settings, same middleware); the only addition is ``/bench/ceiling/``: a
plain DRF APIView with no authentication, permissions, throttles, paging or
serializer, returning the first page of the benchmark clinician's active
couples (ordered like the couple list API) with their partners' names and
uuids and their clinicians' names, built from ``.values()`` rows.

BENCH_CEILING_PRACTICE and BENCH_CEILING_CLINICIAN name the practice slug and
the clinician's email (bench/api.py sets both).
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "practice.settings")

import django
from django.conf import settings

django.setup()
# Serve this module's URLs instead of practice.urls (it includes them all).
settings.ROOT_URLCONF = "bench.bench_urls"

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import include, path  # noqa: E402
from django_scopes import scopes_disabled  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from clients.models import Couple, CoupleStatus, Partner  # noqa: E402

PRACTICE_SLUG = os.environ.get("BENCH_CEILING_PRACTICE", "bench-api")
CLINICIAN_EMAIL = os.environ.get("BENCH_CEILING_CLINICIAN", "clinician@bench-api.test")


class CeilingView(APIView):
    """The same rows as the first page of the couple list, with nothing around them."""

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
            ids = [c["id"] for c in couples]
            partners = Partner.objects.filter(couple_id__in=ids).order_by("position")
            clinicians = Couple.clinicians.through.objects.filter(couple_id__in=ids).order_by(
                "user__full_name"
            )
            by_couple: dict[int, dict[str, list[dict[str, Any]]]] = {
                i: {"partners": [], "clinicians": []} for i in ids
            }
            for row in partners.values("couple_id", "uuid", "display_name"):
                by_couple[row.pop("couple_id")]["partners"].append(row)
            for row in clinicians.values("couple_id", "user__uuid", "user__full_name"):
                by_couple[row["couple_id"]]["clinicians"].append(
                    {"uuid": row["user__uuid"], "full_name": row["user__full_name"]}
                )
        results = []
        for couple in couples:
            related = by_couple[couple.pop("id")]
            results.append({**couple, **related})
        return Response({"next": None, "previous": None, "results": results})


urlpatterns = [
    path("bench/ceiling/", CeilingView.as_view(), name="bench-ceiling"),
    path("", include("practice.urls")),
]

application = get_wsgi_application()
