"""What clients tells the apps above it, so they can act on their own tables."""

from django.dispatch import Signal

# Sent inside the transaction that closes a case (couple=Couple). Receivers end what the
# closed case leaves open in their own tables: assessments finishes its forms.
couple_closed = Signal()

# Sent (couple=Couple) inside the transaction of any change other apps summarise: a couple
# created, or its status or clinicians changed, after couple_closed when it closes. The
# caseload read model (assessments/summary.py) recomputes the couple's row.
couple_changed = Signal()
