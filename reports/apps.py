from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from practice import panels
        from practice.audit import register_actions
        from reports import (
            audit_names,
            erasure,  # noqa: F401 - connects the erasure receivers
        )
        from reports.panels import couple_panels
        from reports.portal import portal_home_panel

        panels.COUPLE_PAGE.register("reports", couple_panels)
        panels.PORTAL_HOME.register("reports", portal_home_panel)

        register_actions(
            {
                "report.request": _("Asked for a report"),
                "report.view": _("Viewed reports"),
                "report.preview": _("Previewed a report"),
                "report.retry": _("Retried a report"),
                "report.download": _("Downloaded a report"),
                "report.portal_download": _("Partner downloaded a report"),
                "report.release": _("Released a report to the portal"),
                "report.withdraw": _("Withdrew a report from the portal"),
                "practice.export_request": _("Asked for a whole-practice export"),
                "practice.export_download": _("Downloaded a whole-practice export"),
            }
        )
        audit_names.register()
