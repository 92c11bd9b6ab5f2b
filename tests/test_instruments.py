"""Instruments as data: the shipped library, immutability once answered, practice uploads."""

from __future__ import annotations

import copy
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope, scopes_disabled

from assessments.models import Instrument, InstrumentStatus
from assessments.services import instruments as services
from tests.conftest import signed_in
from tests.factories import CUSTOM_DEFINITION, answer, make_couple, open_form


def upload(client, practice, definition):
    payload = json.dumps(definition).encode() if not isinstance(definition, bytes) else definition
    return client.post(
        f"/p/{practice.slug}/instruments/upload/",
        {"definition": SimpleUploadedFile("form.json", payload, "application/json")},
    )


@pytest.mark.django_db
def test_the_library_is_loaded_published_and_practice_authored(world):
    with scopes_disabled():
        keys = set(Instrument.objects.filter(practice__isnull=True).values_list("key", flat=True))
        builtins = list(Instrument.objects.filter(practice__isnull=True))
    assert keys == {
        "connection-pulse",
        "connection-signs",
        "everyday-bond",
        "elements-of-connection",
        "safety-screen",
    }
    assert all(i.status == InstrumentStatus.PUBLISHED for i in builtins)
    assert all(
        i.definition["practice_authored"] and not i.definition["validated"] for i in builtins
    )
    assert all(set(i.definition["languages"]) == {"en", "es", "ru"} for i in builtins)


def test_no_builtin_wording_repeats_the_optional_mark_the_portal_adds():
    """The portal writes "(optional)" after every item that may be left empty."""
    from django.utils import translation

    optional_items = [
        item
        for definition in services.library_definitions()
        for item in definition["items"]
        if not item.get("required", True)
    ]
    assert optional_items, "the library has optional items (the safety check-in's last one)"
    for language in ("en", "es", "ru"):
        with translation.override(language):
            mark = translation.gettext("optional")
        for item in optional_items:
            assert mark not in item["text"][language].lower(), (item["link_id"], language)


@pytest.mark.django_db
def test_an_answered_version_cannot_change_only_a_new_version_can(world, monkeypatch):
    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=world.a.practice):
        partner = couple.partners.get(position=1)
    answer(open_form(couple), partner, {"pulse": 5})
    shipped = services.library_definitions()
    changed = copy.deepcopy(shipped)
    pulse = next(d for d in changed if d["key"] == "connection-pulse")
    pulse["items"][0]["text"]["en"] = "A reworded question"
    monkeypatch.setattr(services, "library_definitions", lambda: changed)
    with pytest.raises(services.InstrumentChanged, match="new version"):
        services.sync_library()
    shipped_version = pulse["version"]
    pulse["version"] = shipped_version + 1
    services.sync_library()
    with scopes_disabled():
        versions = list(
            Instrument.objects.filter(practice__isnull=True, key="connection-pulse")
            .order_by("version")
            .values_list("version", "status")
        )
    # The answered version is retired, not changed: nothing new is assigned on it.
    assert versions == [
        (shipped_version, InstrumentStatus.RETIRED),
        (shipped_version + 1, InstrumentStatus.PUBLISHED),
    ]
    with scope(practice=world.a.practice):
        assert services.latest_published("connection-pulse").version == shipped_version + 1


@pytest.mark.django_db
def test_owner_uploads_previews_then_publishes_for_their_practice_only(world):
    owner = signed_in(world.a.owner)
    response = upload(owner, world.a.practice, CUSTOM_DEFINITION)
    assert response.status_code == 302
    with scope(practice=world.a.practice):
        draft = Instrument.objects.get(key="check-in")
    assert draft.status == InstrumentStatus.DRAFT
    preview = owner.get(response.url).content.decode()
    assert "How close did you feel this week?" in preview
    assert 'name="a-q1"' in preview  # drawn with the same form items the portal uses
    # Not assignable until published.
    couple = make_couple(world.a.practice, world.a.clinician)
    assign_page = signed_in(world.a.clinician).get(
        f"/p/{world.a.practice.slug}/couples/{couple.uuid}/assign/"
    )
    assert "Weekly check-in" not in assign_page.content.decode()
    owner.post(f"/p/{world.a.practice.slug}/instruments/{draft.uuid}/publish/")
    with scope(practice=world.a.practice):
        draft.refresh_from_db()
    assert draft.status == InstrumentStatus.PUBLISHED
    assert (
        "Weekly check-in"
        in signed_in(world.a.clinician)
        .get(f"/p/{world.a.practice.slug}/couples/{couple.uuid}/assign/")
        .content.decode()
    )
    # Practice B never sees it.
    other = signed_in(world.b.owner).get(f"/p/{world.b.practice.slug}/instruments/")
    assert "Weekly check-in" not in other.content.decode()
    with scope(practice=world.b.practice):
        assert not Instrument.objects.filter(key="check-in").exists()


@pytest.mark.django_db
def test_upload_errors_name_the_exact_place(world):
    owner = signed_in(world.a.owner)
    broken = copy.deepcopy(CUSTOM_DEFINITION)
    broken["items"][1]["link_id"] = "q1"
    broken["scales"][0]["items"] = ["q1", "q9"]
    page = upload(owner, world.a.practice, broken).content.decode()
    assert "items[1].link_id" in page
    assert "duplicate link id" in page
    assert "scales[0].items[1]" in page
    assert "unknown item" in page
    assert "not valid JSON" in upload(owner, world.a.practice, b"{nope").content.decode()
    builtin_key = dict(CUSTOM_DEFINITION, key="connection-pulse")
    assert "built-in instrument" in upload(owner, world.a.practice, builtin_key).content.decode()
    with scope(practice=world.a.practice):
        assert not Instrument.objects.filter(practice=world.a.practice).exists()


@pytest.mark.django_db
def test_only_owners_upload(world):
    for user in (world.a.clinician, world.a.assistant):
        response = upload(signed_in(user), world.a.practice, CUSTOM_DEFINITION)
        assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "place"),
    [
        (b"[" * 100_000, "nested deeper than 12 levels (line 1, column 13)"),
        (
            json.dumps(dict(CUSTOM_DEFINITION, version=1))
            .replace('"version": 1', '"version": ' + "9" * 5000)
            .encode(),
            "version",
        ),
        (
            json.dumps(
                dict(
                    CUSTOM_DEFINITION,
                    scales=[
                        dict(
                            CUSTOM_DEFINITION["scales"][0], items=[{"a": n} for n in range(20_000)]
                        )
                    ],
                )
            ).encode(),
            "scales[0].items",
        ),
    ],
)
def test_malformed_uploads_are_400_with_the_place_on_the_page_and_in_the_api(world, payload, place):
    """The probe's three 500s: deep nesting, a 5,000-digit version, 20,000 object items."""
    owner = signed_in(world.a.owner)
    page = upload(owner, world.a.practice, payload)
    assert page.status_code == 400
    assert place in page.content.decode()
    api = owner.post(
        f"/api/v1/p/{world.a.practice.slug}/instruments/",
        b'{"definition": ' + payload + b"}",
        content_type="application/json",
    )
    assert api.status_code == 400
    if place == "scales[0].items":
        assert api.json()["error"]["fields"] == {
            "definition.scales[0].items": ["has more than 200 entries"]
        }
    with scope(practice=world.a.practice):
        assert not Instrument.objects.filter(practice=world.a.practice).exists()


@pytest.mark.django_db
def test_a_new_builtin_version_leaves_answers_series_and_open_forms_on_theirs(world, monkeypatch):
    """What upgrading to a library with a new language does to a practice that has answers."""
    from assessments.history import couple_history
    from assessments.models import Response, Score
    from assessments.services import assignments as assignment_services
    from tests.factories import assign

    couple = make_couple(world.a.practice, world.a.clinician)
    with scope(practice=world.a.practice):
        one, two = list(couple.partners.order_by("position"))
    series = assign(
        couple, recurrence=assignment_services.Recurrence(every=1, unit="weeks", count=3)
    )
    with scope(practice=world.a.practice):
        first = series.occurrences.get()
    old = first.instrument
    answer(first, one, {"pulse": 4})
    answer(first, two, {"pulse": 6})
    changed = copy.deepcopy(services.library_definitions())
    pulse = next(d for d in changed if d["key"] == "connection-pulse")
    pulse["version"] = old.version + 1
    pulse["title"]["en"] = "Connection Pulse (revised)"
    monkeypatch.setattr(services, "library_definitions", lambda: changed)
    services.sync_library()
    with scope(practice=world.a.practice):
        old.refresh_from_db()
        # The answered version is as it was: same definition, same digest, now retired.
        assert old.status == InstrumentStatus.RETIRED
        assert old.definition["title"]["en"] == "Connection Pulse"
        assert set(Response.objects.values_list("instrument_id", flat=True)) == {old.pk}
        assert set(Score.objects.values_list("instrument_id", flat=True)) == {old.pk}
        # The running series keeps asking its own version; new assignments get the new one.
        assert series.instrument_id == old.pk
        fresh = assign(couple)
        assert fresh.instrument.version == old.version + 1
        # One history across versions: the scores on the old version are still the baseline.
        history = couple_history(couple, [one, two], fresh.instrument)
        assert [c.values for c in history.changes] == [[4.0], [6.0]]
