"""The results page and the results API read one record (assessments.form_results): for
every role, both answer alike, and where they answer, they show the same numbers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django_scopes import scope

from assessments.services import instruments as instrument_services
from assessments.templatetags.assessments_tags import score
from practice.models import Role
from tests.conftest import signed_in_quickly
from tests.factories import SAFE_ANSWERS, MembershipFactory, answer, make_couple, open_form
from tests.test_results import ONE, TWO, load

PRIVATE = ("cs03", "cs07")


@pytest.fixture
def forms(world) -> dict[str, Any]:
    """Practice A forms in every state the record distinguishes."""
    couple = make_couple(world.a.practice, world.a.clinician, label="Numbers")
    with scope(practice=world.a.practice):
        one, two = couple.partners.order_by("position")
        definition = load("connection-signs")
        definition["key"] = "signs-with-private-items"
        definition["practice_authored"] = True
        for item in definition["items"]:
            item["private"] = item["link_id"] in PRIVATE
        instrument_services.publish(
            instrument_services.upload(
                practice=world.a.practice, actor=world.a.owner, definition=definition
            ),
            actor=world.a.owner,
        )
    both = open_form(couple, "connection-signs")
    answer(both, one, ONE)
    answer(both, two, TWO)
    private = open_form(couple, "signs-with-private-items")
    answer(private, one, ONE)
    answer(private, two, TWO)
    half = open_form(couple, "connection-signs")
    answer(half, one, ONE)
    answer(half, two, {"cs01": 1}, submit=False)
    screen = open_form(couple, "safety-screen", partner=one)
    answer(screen, one, SAFE_ANSWERS)
    return {"both": both, "private": private, "half": half, "screen": screen}


def members(world) -> dict[str, Client]:
    colleague = MembershipFactory(
        practice=world.a.practice, role=Role.CLINICIAN, user__email="colleague@alpha.test"
    )
    return {
        "owner": signed_in_quickly(world.a.owner),
        "clinician": signed_in_quickly(world.a.clinician),
        "colleague": signed_in_quickly(colleague.user),  # a clinician not on the couple
        "assistant": signed_in_quickly(world.a.assistant),
        "outsider": signed_in_quickly(world.b.clinician),
    }


SCORE_CELL = re.compile(r'<td class="num">([^<]*?)(?: <span class="badge">|</td>)')


def score_table_numbers(html: str) -> list[str]:
    """The numbers of the page's score table, row by row, as shown."""
    table = html[html.index('id="h-scores"') : html.index("</table>", html.index('id="h-scores"'))]
    return [cell.strip() for cell in SCORE_CELL.findall(table)]


def api_numbers(body: dict[str, Any], scale_keys: list[str]) -> list[str]:
    """The same table drawn from the API's answer."""
    scores = [{s["scale"]: s["value"] for s in p["scores"]} for p in body["partners"]]
    couple = {s["key"]: s for s in body["couple"]["scales"]} if body["couple"] else {}
    shown = []
    for key in scale_keys:
        shown += [score(partner[key]) for partner in scores if key in partner]
        if couple:
            shown += [score(couple[key]["mean"]), score(couple[key]["difference"])]
    return shown


@pytest.mark.django_db
def test_page_and_api_show_the_same_numbers_for_every_role(world, forms):
    slug = world.a.practice.slug
    for role, client in members(world).items():
        for name, form in forms.items():
            page = client.get(f"/p/{slug}/results/{form.uuid}/")
            api = client.get(f"/api/v1/p/{slug}/results/{form.uuid}/")
            if role in {"assistant", "colleague", "outsider"}:
                # No scores for a role without clinical access, none of a couple not yours.
                assert (page.status_code, api.status_code) == (404, 404), (role, name)
                continue
            assert (page.status_code, api.status_code) == (200, 200), (role, name)
            record, body = page.context["results"], api.json()
            keys = [line.key for line in record.scales]
            assert score_table_numbers(page.content.decode()) == api_numbers(body, keys)
            assert [p["submitted"] for p in body["partners"]] == [
                p.submitted for p in record.partners
            ]
            assert [
                {s["scale"]: (s["value"], s["band"]) for s in p["scores"]} for p in body["partners"]
            ] == [{s.scale: (s.value, s.band) for s in p.scores} for p in record.partners]
            if body["couple"] is None:
                assert record.comparison is None and page.context["comparison"] is None
                continue
            assert [
                (i["link_id"], i["one"], i["two"], i["gap"], i["flagged"], i["growth_reason"])
                for i in body["couple"]["items"]
            ] == [
                (a.link_id, a.one, a.two, a.gap, a.flagged, a.growth_reason)
                for a in record.comparison.items
            ]


@pytest.mark.django_db
def test_the_record_applies_the_privacy_rules(world, forms):
    client = signed_in_quickly(world.a.clinician)
    base = f"/p/{world.a.practice.slug}/results/"
    both = client.get(f"/api/v1{base}{forms['both'].uuid}/").json()
    assert len(both["couple"]["items"]) == 12
    assert {s["key"] for s in both["couple"]["scales"]} >= {"total"}
    # Private items are never compared, though the clinician sees each partner's answer.
    private = client.get(base + f"{forms['private'].uuid}/").context["results"]
    compared = [line.link_id for line in private.couple.items]
    assert len(compared) == 10 and not set(PRIVATE) & set(compared)
    marked = {line.link_id: line for line in private.items if line.private}
    assert set(marked) == set(PRIVATE)
    assert marked["cs03"].values == (ONE["cs03"], TWO["cs03"])
    # A draft is the partner's own: no answers, no scores, no comparison.
    half = client.get(base + f"{forms['half'].uuid}/").context["results"]
    assert [p.submitted for p in half.partners] == [True, False]
    assert half.partners[1].answers == {} and half.partners[1].scores == ()
    assert {line.values[1] for line in half.items} == {None}
    assert half.comparison is None and half.couple is None
    # A private instrument has no couple view at all.
    screen = client.get(f"/api/v1{base}{forms['screen'].uuid}/").json()
    assert screen["couple"] is None
    assert [p["submitted"] for p in screen["partners"]] == [True, False]
