from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_library(sender: AppConfig, **kwargs: Any) -> None:
    """Keep the built-in instruments in step with the shipped files after every migrate."""
    from assessments.services.instruments import sync_library

    sync_library()


class AssessmentsConfig(AppConfig):
    name = "assessments"
    verbose_name = _("Assessments")

    def ready(self) -> None:
        from assessments import (
            audit_names,
            erasure,  # noqa: F401 - connects the erasure receivers
            summary,
        )
        from assessments.panels import couple_panels
        from assessments.portal import portal_home_panel
        from assessments.services.assignments import finish_for_closed_couple
        from clients.signals import couple_closed
        from practice import panels
        from practice.audit import register_actions

        post_migrate.connect(_sync_library, sender=self, dispatch_uid="assessments-sync-library")
        post_migrate.connect(
            summary.fill_missing, sender=self, dispatch_uid="assessments-fill-summaries"
        )
        couple_closed.connect(finish_for_closed_couple, dispatch_uid="assessments-couple-closed")
        panels.COUPLE_PAGE.register("assessments", couple_panels)
        panels.PORTAL_HOME.register("assessments", portal_home_panel)
        register_actions(
            {
                "assignment.create": _("Assigned a form"),
                "assignment.view": _("Viewed assignments"),
                "assignment.paused": _("Paused an assignment"),
                "assignment.active": _("Resumed an assignment"),
                "assignment.cancelled": _("Cancelled an assignment"),
                "assignment.finished": _("An assignment finished: its last form closed"),
                "response.submit": _("Partner submitted a form"),
                "response.view": _("Viewed answers"),
                "response.reopen": _("Reopened a submitted form"),
                "results.view": _("Viewed results"),
                "history.view": _("Viewed score history"),
                "alert.raise": _("Alert raised"),
                "alert.view": _("Viewed alerts"),
                "alert.acknowledge": _("Acknowledged an alert"),
                "alert.resolve": _("Resolved an alert"),
                "alert.resolve_automatic": _("Alert closed automatically"),
                "instrument.upload": _("Uploaded an instrument"),
                "instrument.build": _("Saved an instrument from the form builder"),
                "instrument.publish": _("Published an instrument"),
                "instrument.discard": _("Discarded an instrument draft"),
                "instrument.fhir_import": _("Imported a FHIR questionnaire"),
                "instrument.scales": _("Set the scales of an imported questionnaire"),
                "protocol.save": _("Saved a protocol"),
                "protocol.retire": _("Retired a protocol"),
                "protocol.restore": _("Brought back a protocol"),
                "protocol.apply": _("Applied a protocol to a couple"),
                "couple.fhir_export": _("Exported a couple's answers (FHIR)"),
                "couple.fhir_import": _("Imported a couple's answers (FHIR)"),
                "couple.scores_export": _("Downloaded a couple's scores (CSV)"),
                "analytics.view": _("Viewed practice outcomes"),
                "analytics.export": _("Downloaded practice outcomes (CSV)"),
                "analytics.scores_export": _(
                    "Downloaded the scores behind practice outcomes (CSV)"
                ),
            }
        )
        audit_names.register()
