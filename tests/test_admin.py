"""The Django admin is for superusers only."""

import pytest

from practice.models import User
from tests.conftest import signed_in
from tests.factories import TEST_PASSWORD


@pytest.mark.django_db
def test_practice_owner_cannot_open_the_admin(world):
    world.a.owner.is_staff = True  # even with the flag, owners are not superusers
    world.a.owner.save()
    client = signed_in(world.a.owner)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response.url
    assert client.get(response.url).status_code == 403


@pytest.mark.django_db
def test_the_admin_has_no_sign_in_form_of_its_own(client):
    """Its own form would skip the lockout and the audit: it sends to the staff sign-in."""
    User.objects.create_superuser("root@example.test", TEST_PASSWORD, full_name="Root")
    page = client.get("/admin/login/?next=/admin/practice/practice/")
    assert page.status_code == 302
    assert page.url == "/accounts/sign-in/?next=/admin/practice/practice/"
    # Even the right password posted to the admin's old form signs nobody in there.
    for password in ("wrong", TEST_PASSWORD):
        refused = client.post(
            "/admin/login/", {"username": "root@example.test", "password": password}
        )
        assert refused.status_code == 302 and refused.url.startswith("/accounts/sign-in/")
        assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_superuser_can_open_the_admin_and_list_practices(client, world):
    User.objects.create_superuser("root@example.test", TEST_PASSWORD, full_name="Root")
    client.post("/accounts/sign-in/", {"username": "root@example.test", "password": TEST_PASSWORD})
    assert client.get("/admin/").status_code == 200
    listing = client.get("/admin/practice/practice/")
    assert world.a.practice.name in listing.content.decode()
    change = client.get(f"/admin/practice/practice/{world.a.practice.pk}/change/")
    assert change.status_code == 200
    assert world.a.owner.full_name in change.content.decode()
