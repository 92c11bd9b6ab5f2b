from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PracticeConfig(AppConfig):
    name = "practice"
    verbose_name = _("Practices and staff")

    def ready(self) -> None:
        from practice import api_schema, signals  # noqa: F401 - registers receivers and extensions
