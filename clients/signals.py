"""What clients tells the apps above it, so they can act on their own tables."""

from django.dispatch import Signal

# Sent inside the transaction that closes a case (couple=Couple). Receivers end what the
# closed case leaves open in their own tables: assessments finishes its forms.
couple_closed = Signal()
