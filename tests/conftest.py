"""Fixtures every test can use.

``world`` is the cast of the isolation rule: two practices, each with an
owner, a clinician and an assistant. Every test module that reads tenant data
includes the outsider from practice B.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import Client

from practice.celery import app as celery_app
from practice.models import Membership, Practice, Role, User
from tests.factories import (
    TEST_PASSWORD,
    CaseFile,
    MembershipFactory,
    PracticeFactory,
    case_file,
)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """A SQLite test database file of this run's own.

    The test database is a file (so a real worker process can share it), and
    two test runs in one checkout would otherwise recreate and flush the same
    file under each other. Django deletes it at the end of the run.
    """
    from django.conf import settings

    for config in settings.DATABASES.values():
        name = config.get("TEST", {}).get("NAME")
        if config["ENGINE"].endswith("sqlite3") and name and ":memory:" not in name:
            path = Path(name)
            config["TEST"]["NAME"] = str(path.with_name(f"{path.stem}_{os.getpid()}{path.suffix}"))


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    """Fast hashing, private files in a temporary folder, per-test caches."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "private", "base_url": None},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True, scope="session")
def _eager_celery():
    """Unit tests run tasks inline; tests marked `worker` use a real worker instead."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@dataclass
class Staff:
    practice: Practice
    owner: User
    clinician: User
    assistant: User

    def membership(self, user: User) -> Membership:
        return Membership.objects.with_scopes_disabled().get(practice=self.practice, user=user)


@dataclass
class World:
    a: Staff
    b: Staff


@dataclass
class Cases:
    """Client data in both practices: A's is what outsiders try to reach."""

    a: CaseFile
    b: CaseFile


def make_staff(name: str) -> Staff:
    practice = PracticeFactory(name=f"{name} Practice", slug=f"{name.lower()}-practice")
    members = {
        role: MembershipFactory(
            practice=practice,
            role=role,
            user__full_name=f"{name} {role.label}",
            user__email=f"{role.value}@{name.lower()}.test",
        ).user
        for role in Role
    }
    return Staff(practice, members[Role.OWNER], members[Role.CLINICIAN], members[Role.ASSISTANT])


@pytest.fixture
def world(db) -> World:
    return World(a=make_staff("Alpha"), b=make_staff("Bravo"))


@pytest.fixture
def cases(world) -> Cases:
    return Cases(
        a=case_file(world.a.practice, world.a.clinician, world.a.owner),
        b=case_file(world.b.practice, world.b.clinician, world.b.owner),
    )


def signed_in(user: User) -> Client:
    """A test client with the user signed in through the real sign-in form."""
    client = Client()
    response = client.post(
        "/accounts/sign-in/", {"username": user.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture
def login():
    return signed_in
