"""Load the demo practice (once) and print its sign-ins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from practice import demo


class Command(BaseCommand):
    help = "Create the demo practice if it does not exist and print the demo sign-ins."

    def handle(self, *args: Any, **options: Any) -> None:
        practice, created = demo.build_practice()
        verb = "Created" if created else "Found"
        self.stdout.write(f"{verb} the demo practice “{practice.name}”.")
        self.stdout.write("\nDemo sign-ins (staff: /accounts/sign-in/):")
        for login in demo.staff_logins():
            self.stdout.write(f"  {login.role:<10} {login.email:<34} {login.password}")
