"""The typed-request decorators check what the type promises before a view runs."""

from __future__ import annotations

import pytest
from django.http import Http404, HttpResponse
from django.test import RequestFactory

from clients.portal import PortalRequest, portal_view
from practice.models import Role
from practice.requests import PracticeRequest, staff_view
from practice.roles import Can

pytestmark = pytest.mark.django_db


@staff_view(Can.VIEW_CLINICAL)
def clinical_page(request: PracticeRequest) -> HttpResponse:
    return HttpResponse(request.membership.role)


@portal_view
def partner_page(request: PortalRequest) -> HttpResponse:
    return HttpResponse(request.partner.display_name)


def test_a_request_without_a_practice_membership_is_404():
    request = RequestFactory().get("/p/x/")
    request.membership = None
    with pytest.raises(Http404):
        clinical_page(request)


def test_the_role_is_checked_before_the_view_runs(world):
    request = RequestFactory().get("/p/alpha-practice/")
    request.membership = world.a.membership(world.a.assistant)
    with pytest.raises(Http404):
        clinical_page(request)
    request.membership = world.a.membership(world.a.clinician)
    assert clinical_page(request).content.decode() == Role.CLINICIAN


def test_a_portal_view_needs_a_signed_in_partner(cases):
    request = RequestFactory().get("/portal/")
    request.partner = None
    with pytest.raises(Http404):
        partner_page(request)
    request.partner = cases.a.partner_one
    assert partner_page(request).content.decode() == cases.a.partner_one.display_name
