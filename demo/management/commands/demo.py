"""Load the demo practice (once) and print its sign-ins, staff and portal."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django_scopes import scope

from clients.models import AccessLinkPurpose, Partner
from clients.services import invitation_lifetime, new_access_link, portal_url
from demo import staff, synthetic


class Command(BaseCommand):
    help = "Create the demo practice if it does not exist and print the demo sign-ins."

    def handle(self, *args: Any, **options: Any) -> None:
        practice, created = staff.build_practice()
        if created:
            couples = synthetic.build(practice)
            self.stdout.write(
                f"Created the demo practice “{practice.name}” with {couples} couples."
            )
        else:
            self.stdout.write(f"Found the demo practice “{practice.name}”.")
        self.stdout.write("\nStaff sign-ins (at /accounts/sign-in/):")
        for login in staff.staff_logins():
            self.stdout.write(f"  {login.role:<10} {login.email:<34} {login.password}")
        self.stdout.write(
            "\nClient portal: fresh single-use links for the two partners of “Alder & Brook”"
        )
        self.stdout.write(
            f"(each works once, for {invitation_lifetime().days} days; "
            "run `manage.py demo` again for new ones):"
        )
        with scope(practice=practice):
            for partner in Partner.objects.filter(couple__label="Alder & Brook").order_by(
                "position"
            ):
                _, token = new_access_link(
                    partner, AccessLinkPurpose.INVITATION, invitation_lifetime()
                )
                self.stdout.write(f"  {partner.display_name:<12} {portal_url(token)}")
