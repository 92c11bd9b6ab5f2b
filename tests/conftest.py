"""Fixtures every test can use.

``world`` is the cast of the isolation rule: two practices, each with an
owner, a clinician and an assistant. Every test module that reads tenant data
includes the outsider from practice B.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from practice.celery import app as celery_app
from practice.models import Membership, Practice, Role, User
from tests.factories import TEST_PASSWORD, MembershipFactory, PracticeFactory


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
