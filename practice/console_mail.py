"""A console mail backend whose output can be read and copied as it is."""

from __future__ import annotations

import email.policy
from typing import Any

from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend

# 8-bit UTF-8 with lines up to the SMTP limit: bodies are printed as written, so a
# link in an invitation is one unbroken line instead of quoted-printable "=" splits
# and "=C3=B1" escapes. Only the terminal sees this; real mail keeps Django's policy.
READABLE = email.policy.default.clone(cte_type="8bit", utf8=True, max_line_length=998)


class EmailBackend(DjangoConsoleBackend):
    """Writes each message to the stream in plain UTF-8 (`EMAIL_URL=console://`)."""

    def write_message(self, message: Any) -> None:
        text = message.message(policy=READABLE).as_bytes().decode("utf-8")
        self.stream.write(f"{text}\n")
        self.stream.write("-" * 79)
        self.stream.write("\n")
