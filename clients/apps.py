from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClientsConfig(AppConfig):
    name = "clients"
    verbose_name = _("Couples and partners")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from clients import (
            audit_names,
            erasure,  # noqa: F401 - connects the practice erasure receiver
        )
        from clients.portal import on_staff_sign_in
        from practice.audit import register_actions

        user_logged_in.connect(on_staff_sign_in, dispatch_uid="clients-portal-staff-sign-in")

        register_actions(
            {
                "caseload.view": _("Viewed the caseload"),
                "couple.create": _("Created a couple"),
                "couple.update": _("Changed a couple"),
                "couple.view": _("Viewed a couple"),
                "partner.update": _("Changed a partner"),
                "partner.invite": _("Sent a portal invitation"),
                "partner.revoke": _("Revoked portal access"),
                "note.create": _("Added a note"),
                "portal.sign_in": _("Partner signed in to the portal"),
                "portal.sign_in_refused": _("Portal link refused"),
                "portal.sign_out": _("Partner signed out of the portal"),
                "portal.link_requested": _("Partner asked for a sign-in link"),
                "portal.form_view": _("Partner opened a form"),
                "couple.erase": _("Erased a couple and all their data"),
            }
        )
        audit_names.register()
