"""Scopes, memberships and switching between practices."""

from __future__ import annotations

import pytest
from django_scopes import ScopeError, scope

from practice.models import Membership
from tests.conftest import signed_in
from tests.factories import MembershipFactory


@pytest.mark.django_db
def test_a_scoped_query_outside_a_scope_raises(world):
    with pytest.raises(ScopeError):
        list(Membership.objects.all())
    with pytest.raises(ScopeError):
        Membership.objects.filter(role="owner").count()


@pytest.mark.django_db
def test_inside_a_scope_only_that_practice_is_visible(world):
    with scope(practice=world.a.practice):
        practices = {m.practice_id for m in Membership.objects.all()}
    assert practices == {world.a.practice.pk}


@pytest.mark.django_db
def test_a_user_in_two_practices_chooses_and_switches(world):
    MembershipFactory(practice=world.b.practice, user=world.a.clinician, role="assistant")
    client = signed_in(world.a.clinician)
    assert client.get("/").url == "/practices/"
    chooser = client.get("/practices/").content.decode()
    assert world.a.practice.name in chooser
    assert world.b.practice.name in chooser
    page_a = client.get(f"/p/{world.a.practice.slug}/")
    page_b = client.get(f"/p/{world.b.practice.slug}/")
    assert page_a.status_code == page_b.status_code == 200
    assert page_a.context["membership"].role == "clinician"
    assert page_b.context["membership"].role == "assistant"
    assert "Switch practice" in page_a.content.decode()


@pytest.mark.django_db
def test_a_deactivated_user_loses_access(world):
    client = signed_in(world.a.clinician)
    world.a.clinician.is_active = False
    world.a.clinician.save()
    assert client.get(f"/p/{world.a.practice.slug}/").status_code in {302, 404}


@pytest.mark.django_db
def test_unknown_practice_is_404_not_500(world):
    client = signed_in(world.a.owner)
    assert client.get("/p/no-such-practice/").status_code == 404


# Models with a practice column that are read across practices on purpose.
UNSCOPED_BY_DESIGN = {
    # Outside a scope its manager lists only the shared built-in library (checked
    # below); a practice's own forms appear only inside that practice.
    "assessments.instrument",
    # Aggregates only (n, mean, SD, alpha): pooled across practices by design.
    "assessments.normestimate",
}


@pytest.mark.django_db
def test_every_tenant_owned_model_refuses_queries_outside_a_scope(world):
    from django.apps import apps

    checked = []
    for model in apps.get_models():
        if model._meta.label_lower in UNSCOPED_BY_DESIGN:
            continue
        field_names = {f.name for f in model._meta.get_fields()}
        if "practice" not in field_names or model._meta.label_lower == "practice.practice":
            continue
        checked.append(model._meta.label_lower)
        with pytest.raises(ScopeError):
            list(model.objects.all()[:1])
    from assessments.models import Instrument
    from assessments.services import instruments as instrument_services
    from tests.factories import CUSTOM_DEFINITION

    with scope(practice=world.a.practice):
        instrument_services.upload(
            practice=world.a.practice, actor=world.a.owner, definition=CUSTOM_DEFINITION
        )
        assert Instrument.objects.filter(practice__isnull=False).count() == 1
    assert not Instrument.objects.filter(practice__isnull=False).exists()
    # The walk found the client models, not an empty list.
    assert {"clients.couple", "clients.partner", "assessments.response", "reports.report"} <= set(
        checked
    )
