"""Private file storage (reports, logos, exports): how its failures look.

The local disk fails with ``OSError``; an S3-compatible store fails with
botocore's errors. Callers that record a failure for staff catch
``STORAGE_ERRORS`` and name it with ``describe``; neither carries client data.
"""

from __future__ import annotations

import errno

from botocore.exceptions import BotoCoreError, ClientError

STORAGE_ERRORS: tuple[type[BaseException], ...] = (OSError, BotoCoreError, ClientError)


def describe(exc: BaseException) -> str:
    """A short code for a storage failure: ENOSPC, NoSuchBucket, EndpointConnectionError."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or type(exc).__name__)
    if isinstance(exc, OSError) and exc.errno:
        return errno.errorcode.get(exc.errno, type(exc).__name__)
    return type(exc).__name__
