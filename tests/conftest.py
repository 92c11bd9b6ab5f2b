"""Fixtures every test can use.

``world`` is the cast of the isolation rule: two practices, each with an
owner, a clinician and an assistant. Every test module that reads tenant data
includes the outsider from practice B.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client, override_settings
from django_scopes import scopes_disabled

from practice.celery import app as celery_app
from practice.models import Membership, Practice, Role, User
from tests.factories import (
    TEST_PASSWORD,
    CaseFile,
    MembershipFactory,
    PracticeFactory,
    case_file,
)

# Tests that start processes of their own (Chromium, a Celery worker, Redis servers) or
# hammer the live server share queues, ports and the machine's two cores, so they run one
# after another. `make test` runs the suite in two phases: ATTUNE_TEST_PHASE=parallel
# (everything else, under pytest-xdist) and ATTUNE_TEST_PHASE=serial (these, in one
# process). Unset, a run takes every test it selects.
SERIAL_MARKERS = {"browser", "worker", "faults", "fuzz"}
TEST_PHASE = os.environ.get("ATTUNE_TEST_PHASE", "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if TEST_PHASE not in {"parallel", "serial"}:
        return
    keep, drop = [], []
    for item in items:
        serial = bool(SERIAL_MARKERS & {mark.name for mark in item.iter_markers()})
        (keep if serial == (TEST_PHASE == "serial") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


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


def settings_for_tests(private_root: Path) -> dict[str, Any]:
    """Fast hashing, private files under the given folder, a local cache."""
    from django.conf import settings

    return {
        "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
        "PRIVATE_MEDIA_ROOT": private_root,
        "STORAGES": {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": private_root, "base_url": None},
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    }


@pytest.fixture
def private_root(tmp_path) -> Path:
    """Where this test's private files go; a module sharing data shares its folder too."""
    return tmp_path / "private"


@pytest.fixture(autouse=True)
def _test_settings(settings, private_root):
    """Fast hashing, private files in a temporary folder, per-test caches, English.

    Django's LocaleMiddleware activates a request's language in the thread and leaves
    it there; under the test client that thread runs the next test too, which then
    read Spanish where it expected English (seen under xdist, in whatever test followed
    a language-switching one). Each test starts and ends in the default language and
    the default time zone.
    """
    from django.core.cache import cache
    from django.utils import timezone, translation

    for name, value in settings_for_tests(private_root).items():
        setattr(settings, name, value)
    cache.clear()
    translation.deactivate()
    timezone.deactivate()
    yield
    translation.deactivate()
    timezone.deactivate()


@pytest.fixture(scope="module")
def module_data_root(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Path]:
    """Open a transaction for data built once per module, and roll it back afterwards.

    The module's tests run inside it (each in a savepoint of its own, as usual),
    the way Django's ``TestCase.setUpTestData`` works. Yields the private-files
    folder the module's data and tests share. Build the data with ``module_db``.
    """
    root = tmp_path_factory.mktemp("private")
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        yield root
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@contextmanager
def module_db(django_db_blocker, root: Path) -> Iterator[None]:
    """Database access, with the test settings, while a module builds its shared data."""
    with django_db_blocker.unblock(), override_settings(**settings_for_tests(root)):
        yield


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
        with scopes_disabled():
            return Membership.objects.get(practice=self.practice, user=user)


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


@pytest.fixture(scope="module")
def module_world_and_cases(module_data_root, django_db_blocker) -> tuple[World, Cases]:
    """Both practices and their case files, built once for a module that asks for them.

    A module opts in by defining ``world``, ``cases`` and ``private_root`` from
    ``shared_world_and_cases`` and ``module_data_root`` (tests/test_api.py). Every test of
    that module then sees this data, whether it asks for it or not.
    """
    with module_db(django_db_blocker, module_data_root):
        world = World(a=make_staff("Alpha"), b=make_staff("Bravo"))
        cases = Cases(
            a=case_file(world.a.practice, world.a.clinician, world.a.owner),
            b=case_file(world.b.practice, world.b.clinician, world.b.owner),
        )
    return world, cases


@pytest.fixture
def shared_world_and_cases(module_world_and_cases, db) -> tuple[World, Cases]:
    """This test's copy of the module's data.

    The rows are shared (each test's changes roll back with its savepoint); the Python
    objects are copied, so a test that changes one in memory leaves the next test's alone,
    as Django's ``setUpTestData`` does.
    """
    return copy.deepcopy(module_world_and_cases)


def signed_in_quickly(user: User) -> Client:
    """A test client with the user's session set up directly, for tests not about sign-in."""
    client = Client()
    client.force_login(user)
    return client


def signed_in(user: User) -> Client:
    """A test client with the user signed in through the real sign-in form."""
    client = Client()
    response = client.post(
        "/accounts/sign-in/", {"username": user.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302, response.content[:500]
    return client


def with_second_factor(client: Client, user: User) -> Client:
    """Mark the client's session as having just proved a second factor.

    For tests about something else; tests/test_two_factor.py goes through the
    real pages (codes computed from the secret) instead.
    """
    import time

    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from practice import two_factor

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or (
        TOTPDevice.objects.create(user=user, name="test app", confirmed=True)
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[two_factor.VERIFIED_AT_KEY] = time.time()
    session.save()
    return client


def signed_in_verified(user: User) -> Client:
    """Signed in, with a fresh second factor (for owners' sensitive changes).

    Once a user has a device the password form only opens the second step, so
    this signs in directly; tests/test_two_factor.py covers the real pages.
    """
    client = Client()
    client.force_login(user)
    return with_second_factor(client, user)


@pytest.fixture
def login():
    return signed_in


# --- the matrices with the second wall alone ----------------------------------------------
# ATTUNE_TEST_RLS=1 (the PostgreSQL job in .ci/run) runs tests as the app's database role,
# which the row-level security policies bind, with django-scopes' query filter switched
# off: whatever the isolation matrices still find hidden, the database hid.
RLS_ONLY = os.environ.get("ATTUNE_TEST_RLS") == "1"


@pytest.fixture(autouse=True)
def _rls_only(request, monkeypatch):
    if not RLS_ONLY or "db" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("db")  # inside the test's transaction, so SET LOCAL ends with it
    import django_scopes.manager
    from django.db import connection

    from practice import rls

    if connection.vendor != "postgresql":
        pytest.fail("ATTUNE_TEST_RLS=1 needs PostgreSQL")
    # Scoped managers no longer filter; the scope itself stays known to practice/rls.py.
    monkeypatch.setattr(django_scopes.manager, "get_scope", lambda: {"_enabled": False})
    with connection.cursor() as cursor:
        cursor.execute(f'SET LOCAL ROLE "{rls.app_role()}"')
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False), "the app role must be bound by the policies"
    yield
