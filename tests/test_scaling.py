"""docs/scaling.md against the models: every tenant table carries practice_id, and the
Citus plan (distributed, reference and local tables; constraints to widen) is complete."""

from __future__ import annotations

import re
from pathlib import Path

from django.apps import apps
from django.db import models

from practice.models import Practice
from practice.rls import TENANT_APPS

DOC = (Path(__file__).resolve().parent.parent / "docs" / "scaling.md").read_text()


def tenant_app_models() -> list[type[models.Model]]:
    return [m for app in TENANT_APPS for m in apps.get_app_config(app).get_models()]


def practice_field(model: type[models.Model]) -> models.ForeignKey | None:
    field = next((f for f in model._meta.concrete_fields if f.name == "practice"), None)
    return field if field is not None and field.related_model is Practice else None


def distributed() -> set[type[models.Model]]:
    """What Citus would shard: a practice it cannot do without."""
    return {m for m in tenant_app_models() if (f := practice_field(m)) is not None and not f.null}


def planned(kind: str) -> set[str]:
    return set(re.findall(rf"^\| `(\w+)` \| {kind} \|", DOC, re.M))


def test_every_table_that_refers_to_a_practices_rows_has_its_own_practice_id():
    sharded = distributed()
    for model in tenant_app_models():
        points_into_a_practice = [
            f.name
            for f in model._meta.concrete_fields
            if f.is_relation and f.related_model in sharded
        ]
        if points_into_a_practice:
            assert practice_field(model) is not None, (model._meta.label, points_into_a_practice)


def test_the_plan_names_every_table_once_and_the_right_way():
    tables = {m._meta.db_table for m in tenant_app_models()}
    kinds = {kind: planned(kind) for kind in ("distributed", "reference", "local")}
    named = [t for names in kinds.values() for t in names]
    assert sorted(named) == sorted(tables)  # each table once, none forgotten, none made up
    # Audit events are the practice's, save a few with none, which the plan moves aside.
    expected = {m._meta.db_table for m in distributed()} | {"practice_auditevent"}
    assert kinds["distributed"] == expected
    # A practice-less row (built-in instrument, pooled norm) cannot be sharded by practice.
    for model in tenant_app_models():
        field = practice_field(model)
        if field is not None and field.null and model._meta.label_lower != "practice.auditevent":
            assert model._meta.db_table in kinds["reference"], model._meta.label


def unique_sets(model: type[models.Model]) -> set[tuple[str, ...]]:
    found = {tuple(u) for u in model._meta.unique_together}
    found |= {
        tuple(c.fields)
        for c in model._meta.constraints
        if isinstance(c, models.UniqueConstraint) and c.fields
    }
    found |= {(f.name,) for f in model._meta.concrete_fields if f.unique and not f.primary_key}
    return found


def test_every_unique_constraint_citus_could_not_enforce_is_in_the_plan():
    rows = re.findall(r"^\| ([^|]+) \| ([^|]+) \| `\(practice, ", DOC, re.M)
    listed: set[tuple[str, tuple[str, ...]]] = set()
    for tables, constraint in rows:
        fields = tuple(re.findall(r"\w+", constraint.split("where")[0].strip(" `()")))
        for table in re.findall(r"`(\w+)`", tables):
            listed.add((table, fields))
    uuid_rule = "every distributed table with `uuid`" in DOC
    for model in distributed():
        for fields in unique_sets(model):
            if "practice" in fields:
                continue
            if fields == ("uuid",) and uuid_rule:
                continue
            assert (model._meta.db_table, fields) in listed, (model._meta.db_table, fields)
