"""The form builder: it writes the upload's definition JSON, and says every problem at once."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django_scopes import scope, scopes_disabled

from assessments import builder as bld
from assessments import definition as defn
from assessments.models import Instrument, InstrumentStatus
from assessments.services import instruments as services
from practice.models import AuditEvent
from tests.conftest import signed_in
from tests.factories import CUSTOM_DEFINITION

LIBRARY = Path(__file__).resolve().parents[1] / "assessments" / "library"


def post_data(definition: dict[str, Any], **about: Any) -> dict[str, Any]:
    """The fields the builder page posts for a definition, as a browser would send them."""
    initial = bld.initial_from_definition(definition)
    data: dict[str, Any] = {}
    for name, value in {**initial["about"], **about}.items():
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    for prefix in bld.FORMSETS:
        rows = initial[prefix]
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        for index, row in enumerate(rows):
            for name, value in row.items():
                if isinstance(value, bool):
                    if value:
                        data[f"{prefix}-{index}-{name}"] = "on"
                elif value is not None:
                    data[f"{prefix}-{index}-{name}"] = str(value)
    return data


def build(data: dict[str, Any], version: int = 1) -> tuple[dict[str, Any], Any]:
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for name, value in data.items():
        if isinstance(value, list):
            query.setlist(name, value)
        else:
            query[name] = value
    builder = bld.Builder.from_post(query)
    assert builder.is_valid(), builder.field_problems()
    return bld.build_definition(builder, version=version)


def canonical(definition: dict[str, Any]) -> dict[str, Any]:
    """Inline options become a named answer set in the builder; compare the meaning."""
    d = copy.deepcopy(definition)
    sets = d.setdefault("answer_sets", {})
    for item in d["items"]:
        if "options" in item:
            item["answer_set"] = f"inline:{item['link_id']}"
            sets[item["answer_set"]] = item.pop("options")
    for item in d["items"]:
        # Defaults said out loud mean the same as defaults left out.
        if item.get("required") is True:
            del item["required"]
        if item.get("reverse") is False:
            del item["reverse"]
        if "answer_set" in item:
            item["answer_set"] = json.dumps(sets[item["answer_set"]], sort_keys=True)
    d.pop("answer_sets")
    return d


@pytest.mark.parametrize("path", sorted(LIBRARY.glob("*.json")), ids=lambda p: p.stem)
def test_every_library_definition_survives_the_builder(path, db):
    # Everything the shipped forms use (sections, number items, alerts, norms, enable-when,
    # inline options) comes back out of the builder's rows with the same meaning.
    original = json.loads(path.read_text())
    definition, _ = build(post_data(original), version=original["version"])
    assert canonical(definition) == canonical(original)


def test_a_small_definition_comes_back_exactly(db):
    definition, _ = build(post_data(CUSTOM_DEFINITION))
    assert definition == CUSTOM_DEFINITION


def two_scale_form() -> dict[str, Any]:
    """Six items on a shared answer set, two scales (one with bands), in three languages."""
    agree = bld.starter_definition("Alpha")["answer_sets"]["agree5"]
    text = lambda n: {"en": f"Question {n}", "es": f"Pregunta {n}", "ru": f"Вопрос {n}"}  # noqa: E731
    items = [
        {"link_id": f"q{n}", "type": "ordinal", "answer_set": "agree5", "text": text(n)}
        for n in range(1, 7)
    ]
    items[2]["reverse"] = True
    return {
        "key": "our-check-in",
        "version": 1,
        "default_language": "en",
        "languages": ["en", "es", "ru"],
        "title": {"en": "Our check-in", "es": "Nuestro chequeo", "ru": "Наша проверка"},
        "description": {"en": "Six questions.", "es": "Seis preguntas.", "ru": "Шесть вопросов."},
        "estimated_minutes": 3,
        "practice_authored": True,
        "validated": False,
        "citation": "Written by the practice.",
        "licence": "For use within the practice",
        "direction": "higher_is_better",
        "answer_sets": {"agree5": agree},
        "items": items,
        "scales": [
            {
                "key": "closeness",
                "label": {"en": "Closeness", "es": "Cercanía", "ru": "Близость"},
                "items": ["q1", "q2", "q3"],
                "method": "mean",
                "min_answered": 2,
                "total": True,
                "bands": [
                    {
                        "key": "low",
                        "min": 1,
                        "max": 3,
                        "label": {"en": "Low", "es": "Baja", "ru": "Низкая"},
                    },
                    {
                        "key": "high",
                        "min": 3,
                        "max": 5,
                        "label": {"en": "High", "es": "Alta", "ru": "Высокая"},
                    },
                ],
            },
            {
                "key": "calm",
                "label": {"en": "Calm", "es": "Calma", "ru": "Спокойствие"},
                "items": ["q4", "q5", "q6"],
                "method": "sum",
                "min_answered": 3,
            },
        ],
    }


@pytest.mark.django_db
def test_an_owner_builds_saves_and_publishes_then_versions(world):
    owner = signed_in(world.a.owner)
    base = f"/p/{world.a.practice.slug}/instruments/build/"
    assert owner.get(base).status_code == 200
    response = owner.post(base, {**post_data(two_scale_form()), "action": "save"})
    assert response.status_code == 302, response.content.decode()[:3000]
    with scope(practice=world.a.practice):
        draft = Instrument.objects.get(practice=world.a.practice, key="our-check-in")
        assert draft.status == InstrumentStatus.DRAFT
        assert draft.definition == two_scale_form()
        services.publish(draft, actor=world.a.owner)
    with scopes_disabled():
        saved = AuditEvent.objects.get(action="instrument.build")
        assert (saved.actor, saved.target_id) == (world.a.owner, str(draft.uuid))
    # Changing a published form makes version 2, a draft; version 1 stays as it was.
    page = owner.get(f"/p/{world.a.practice.slug}/instruments/{draft.uuid}/build/")
    assert page.status_code == 200
    changed = two_scale_form()
    changed["items"][0]["text"]["en"] = "Question one, reworded"
    response = owner.post(page.request["PATH_INFO"], {**post_data(changed), "action": "save"})
    assert response.status_code == 302
    with scope(practice=world.a.practice):
        versions = dict(
            Instrument.objects.filter(key="our-check-in").values_list("version", "status")
        )
        assert versions == {1: InstrumentStatus.PUBLISHED, 2: InstrumentStatus.DRAFT}
        second = Instrument.objects.get(key="our-check-in", version=2)
        assert second.definition["items"][0]["text"]["en"] == "Question one, reworded"
        assert Instrument.objects.get(key="our-check-in", version=1).definition == two_scale_form()


@pytest.mark.django_db
def test_every_problem_at_once_each_with_a_link_to_its_field(world):
    owner = signed_in(world.a.owner)
    broken = two_scale_form()
    del broken["items"][1]["text"]["es"]  # a missing translation
    broken["scales"][1]["items"][2] = "q9"  # an unknown item
    broken["scales"][0]["bands"][1]["min"] = 3.5  # a gap between bands
    broken["answer_sets"]["agree5"][1]["value"] = 1  # a repeated value
    response = owner.post(
        f"/p/{world.a.practice.slug}/instruments/build/",
        {**post_data(broken), "action": "save"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "4 problems to fix" in page
    assert 'href="#id_items-1-text_es"' in page
    assert 'href="#id_scales-1-items"' in page
    assert "leaves a gap" in page and "Band 2 (high of closeness)" in page
    assert 'href="#id_options-1-value"' in page
    with scope(practice=world.a.practice):
        assert not Instrument.objects.filter(key="our-check-in").exists()


@pytest.mark.django_db
def test_the_live_check_answers_with_problems_and_a_preview(world):
    owner = signed_in(world.a.owner)
    url = f"/p/{world.a.practice.slug}/instruments/build/check/"
    good = owner.post(url, {**post_data(two_scale_form()), "preview_language": "es"}).json()
    assert good["count"] == 0
    assert "Pregunta 6" in good["preview"]
    broken = two_scale_form()
    broken["items"][0]["link_id"] = "q2"
    answer = owner.post(url, post_data(broken)).json()
    assert answer["count"] >= 1
    assert "duplicate link id" in answer["problems"]
    # A field the form itself rejects is named with its row too.
    answer = owner.post(url, {**post_data(two_scale_form()), "items-0-link_id": "no spaces"}).json()
    assert "Item 1" in answer["problems"] and 'href="#id_items-0-link_id"' in answer["problems"]


@pytest.mark.django_db
def test_adding_a_row_keeps_what_was_typed(world):
    owner = signed_in(world.a.owner)
    data = {**post_data(two_scale_form()), "action": "add-items"}
    page = owner.post(f"/p/{world.a.practice.slug}/instruments/build/", data).content.decode()
    assert 'name="items-TOTAL_FORMS" value="7"' in page
    assert "Pregunta 6" in page
    # The new item takes the answer set of the one before it.
    assert 'name="items-6-answer_set" value="agree5"' in page
    # Untouched, the new row is not judged yet: no error greets the owner.
    assert "This field is required." not in page
    # It comes back with the new row's first field focused, ready for typing.
    assert re.search(r'<input[^>]*name="items-6-link_id"[^>]*autofocus', page)


@pytest.mark.django_db
def test_only_owners_build_and_only_their_own_forms(world):
    with scope(practice=world.b.practice):
        theirs = services.upload(
            practice=world.b.practice, actor=world.b.owner, definition=CUSTOM_DEFINITION
        )
    for user in (world.a.clinician, world.a.assistant):
        client = signed_in(user)
        assert client.get(f"/p/{world.a.practice.slug}/instruments/build/").status_code == 404
        check = client.post(f"/p/{world.a.practice.slug}/instruments/build/check/", {})
        assert check.status_code == 404
    owner = signed_in(world.a.owner)
    response = owner.get(f"/p/{world.a.practice.slug}/instruments/{theirs.uuid}/build/")
    assert response.status_code == 404
    assert "Weekly check-in" not in response.content.decode()


@pytest.mark.django_db
def test_a_builtin_key_is_refused(world):
    owner = signed_in(world.a.owner)
    data = {**post_data(two_scale_form()), "key": "connection-pulse", "action": "save"}
    response = owner.post(f"/p/{world.a.practice.slug}/instruments/build/", data)
    assert response.status_code == 400
    assert "built-in form" in response.content.decode()


@pytest.mark.django_db
def test_changing_an_items_kind_leaves_no_stale_field(world):
    # An item turned from a choice scale into yes/no keeps its old answer set in the
    # (now hidden) field; the definition takes only what the new kind uses.
    changed = two_scale_form()
    data = post_data(changed)
    data["items-1-type"] = "yes_no"
    data["items-3-type"] = "number"
    data["items-3-minimum"] = "0"
    data["items-3-maximum"] = "10"
    definition, _ = build(data)
    assert definition["items"][1] == {
        "link_id": "q2",
        "type": "yes_no",
        "text": changed["items"][1]["text"],
    }
    assert definition["items"][3]["min"] == 0 and "answer_set" not in definition["items"][3]


def test_problems_outside_the_rows_are_placed_on_the_about_form_or_their_part():
    places = {"items[0]": bld.Place("Item 1 (q1)", "items-0")}
    located = bld.locate(
        [
            defn.Problem("title.es", "missing translation"),
            defn.Problem("key", "does not match"),
            defn.Problem("scales", "exactly one scale must be the total; found 0"),
            defn.Problem("answer_sets.agree5", "should have at least 2 items"),
            defn.Problem("items[0].text.ru", "missing translation"),
            defn.Problem("items[0].min", "must be above max"),
        ],
        places,
    )
    assert [(p.where, p.field_id) for p in located] == [
        ("About the form", "id_title_es"),
        ("About the form", "id_key"),
        ("Scales", ""),
        ("Answer set agree5", ""),
        ("Item 1 (q1)", "id_items-0-text_ru"),
        ("Item 1 (q1)", "id_items-0-minimum"),
    ]
