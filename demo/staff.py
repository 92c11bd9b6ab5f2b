"""The demo practice `make run` loads: obviously fictional people, realistic shape."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django_scopes import scope

from practice.models import Membership, Practice, Role, User

DEMO_SLUG = "demo"
DEMO_DOMAIN = "demo.attune.test"


@dataclass(frozen=True)
class Login:
    role: str
    email: str
    password: str


STAFF = [
    ("Olive Ownsworth", "owner", Role.OWNER),
    ("Dr. Clara Clinic", "clinician", Role.CLINICIAN),
    ("Dr. Cyrus Counsel", "clinician2", Role.CLINICIAN),
    ("Asa Assistwell", "assistant", Role.ASSISTANT),
]


def staff_logins() -> list[Login]:
    """The demo's staff sign-ins, as printed by `manage.py demo`."""
    return [
        Login(str(role.label), f"{local}@{DEMO_DOMAIN}", f"demo-{local}-2026")
        for _, local, role in STAFF
    ]


@transaction.atomic
def build_practice() -> tuple[Practice, bool]:
    """Create the demo practice and its staff; returns (practice, created)."""
    practice, created = Practice.objects.get_or_create(
        slug=DEMO_SLUG,
        defaults={
            "name": "Harbourlight Couples Therapy (demo)",
            "display_name": "Harbourlight Couples Therapy",
            "timezone": "Europe/London",
            "accent_colour": "#2f6f6a",
            "is_demo": True,
            "support_resources": (
                "Emergency services: 999\n"
                "National Domestic Abuse Helpline (24 hours): 0808 2000 247\n"
                "Samaritans: 116 123\n"
                "Your therapist, privately: harbourlight@example.test"
            ),
        },
    )
    if not created:
        return practice, False
    for (full_name, _local, role), login in zip(STAFF, staff_logins(), strict=True):
        user = User.objects.filter(email=login.email).first()
        if user is None:
            user = User.objects.create_user(login.email, login.password, full_name=full_name)
        with scope(practice=practice):
            Membership.objects.create(practice=practice, user=user, role=role)
    return practice, True
