"""Typed readers for configuration held in environment variables.

Each helper returns the default when the variable is unset or empty and
raises ``ImproperlyConfigured`` with the variable's name when a value cannot
be parsed, so a typo fails at start-up instead of at the first request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    value = (os.environ if environ is None else environ).get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str = "", environ: Mapping[str, str] | None = None) -> str:
    """Return the variable as a string."""
    value = _raw(name, environ)
    return default if value is None else value


def env_bool(name: str, default: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    """Return the variable as a boolean (1/0, true/false, yes/no, on/off)."""
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean such as 1 or 0, got {value!r}.")


def env_int(name: str, default: int, environ: Mapping[str, str] | None = None) -> int:
    """Return the variable as an integer."""
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.") from None


def env_float(
    name: str,
    default: float,
    environ: Mapping[str, str] | None = None,
    *,
    above: float | None = None,
    below: float | None = None,
) -> float:
    """Return the variable as a number, optionally strictly between ``above`` and ``below``."""
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}.") from None
    if (above is not None and not number > above) or (below is not None and not number < below):
        raise ImproperlyConfigured(
            f"{name} must be between {above} and {below} (exclusive), got {value!r}."
        )
    return number


def env_list(
    name: str, default: list[str] | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Return the variable split on commas, blanks dropped."""
    value = _raw(name, environ)
    if value is None:
        return list(default or [])
    return [part.strip() for part in value.split(",") if part.strip()]


def env_path(name: str, default: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Return the variable as an absolute path."""
    value = _raw(name, environ)
    return default if value is None else Path(value).expanduser().resolve()


def database_from_url(url: str, base_dir: Path) -> dict[str, Any]:
    """Translate a database URL into a Django ``DATABASES`` entry.

    Supported: ``sqlite:///relative/or/absolute.sqlite3`` and
    ``postgres://user:password@host:port/name?option=value``.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        raw_path = unquote(parts.path)
        # sqlite:////abs/path -> "//abs/path"; sqlite:///rel -> "/rel".
        path = Path(raw_path[1:]) if raw_path.startswith("//") else base_dir / raw_path.lstrip("/")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
            "TEST": {"NAME": str(path.with_name(f"test_{path.name}"))},
        }
    if scheme in {"postgres", "postgresql", "pgsql"}:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured("DATABASE_URL must name a database.")
        query = dict(parse_qsl(parts.query))
        pooler = query.pop("pooler", "")
        if pooler not in {"", "transaction"}:
            raise ImproperlyConfigured(
                f"DATABASE_URL's pooler must be 'transaction' when given, got {pooler!r}."
            )
        config: dict[str, Any] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            # JIT compilation costs more than it saves on short dashboard queries: with
            # it, a deep caseload page spent a second compiling (bench/README.md).
            "OPTIONS": {"options": "-c jit=off", **query},
        }
        if pooler == "transaction":
            # PgBouncer in transaction mode hands each transaction any server
            # connection: no cursor may outlive its transaction, no statement may be
            # prepared on one connection and run on another, and no startup option
            # reaches the server (set jit=off on the role instead: docs/scaling.md).
            config["DISABLE_SERVER_SIDE_CURSORS"] = True
            config["OPTIONS"]["prepare_threshold"] = None
            if config["OPTIONS"].get("options") == "-c jit=off":
                del config["OPTIONS"]["options"]
        return config
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {scheme!r} is not supported; use sqlite:// or postgres://."
    )


def cache_from_url(url: str, base_dir: Path) -> dict[str, Any]:
    """Translate a cache URL (redis://, file:///path, locmem://) into a ``CACHES`` entry."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in {"redis", "rediss"}:
        # Falls back on local memory while Redis is down (practice/cache.py).
        return {"BACKEND": "practice.cache.FallbackRedisCache", "LOCATION": url}
    if scheme == "file":
        path = unquote(parts.path)
        return {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": path if path.startswith("/") else str(base_dir / path),
        }
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    raise ImproperlyConfigured(f"CACHE_URL scheme {scheme!r} is not supported.")


_MAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
    "console": "practice.console_mail.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}


def mailer_from_url(url: str) -> dict[str, Any]:
    """Translate an email URL into a Django ``MAILERS`` entry.

    ``smtp://user:password@host:587?tls=1`` (or ``smtps://`` for implicit
    TLS), ``console://``, ``file:///path/to/folder``, ``locmem://``.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _MAIL_BACKENDS:
        raise ImproperlyConfigured(f"EMAIL_URL scheme {scheme!r} is not supported.")
    options: dict[str, Any] = {}
    if scheme in {"smtp", "smtps"}:
        query = dict(parse_qsl(parts.query))
        options = {
            "host": parts.hostname or "localhost",
            "port": parts.port or (465 if scheme == "smtps" else 25),
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_ssl": scheme == "smtps",
            "use_tls": query.get("tls", "0").lower() in _TRUE,
            "timeout": 20,
        }
    elif scheme == "file":
        options = {"file_path": unquote(parts.path)}
    return {"BACKEND": _MAIL_BACKENDS[scheme], "OPTIONS": options}


def private_storage_from_env(environ: Mapping[str, str], private_root: Path) -> dict[str, Any]:
    """The ``STORAGES["default"]`` entry for client files (reports, logos, exports).

    ``PRIVATE_STORAGE=filesystem`` (the default) keeps them under ``private_root``;
    ``PRIVATE_STORAGE=s3`` puts them in a private bucket of any S3-compatible store.
    Either way they have no public URL: the app streams them after its own checks.
    """
    kind = (_raw("PRIVATE_STORAGE", environ) or "filesystem").lower()
    if kind == "filesystem":
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": private_root, "base_url": None},
        }
    if kind != "s3":
        raise ImproperlyConfigured(f"PRIVATE_STORAGE must be 'filesystem' or 's3', got {kind!r}.")
    from boto3.s3.transfer import TransferConfig  # only an S3 configuration needs boto3

    bucket = _raw("S3_BUCKET", environ)
    if bucket is None:
        raise ImproperlyConfigured("PRIVATE_STORAGE=s3 needs S3_BUCKET.")
    addressing = (_raw("S3_ADDRESSING_STYLE", environ) or "path").lower()
    if addressing not in {"path", "virtual", "auto"}:
        raise ImproperlyConfigured(
            f"S3_ADDRESSING_STYLE must be path, virtual or auto, got {addressing!r}."
        )
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "endpoint_url": _raw("S3_ENDPOINT_URL", environ),
        "region_name": _raw("S3_REGION", environ),
        "access_key": _raw("S3_ACCESS_KEY_ID", environ),
        "secret_key": _raw("S3_SECRET_ACCESS_KEY", environ),
        "location": (_raw("S3_PREFIX", environ) or "").strip("/"),
        "addressing_style": addressing,
        "signature_version": "s3v4",
        # Objects inherit the bucket's (private) policy; none is ever made public.
        "default_acl": None,
        "querystring_auth": True,
        # Two practices uploading "logo.png" must not replace each other's file:
        # a taken name gets a suffix, as on the local disk.
        "file_overwrite": False,
        # Uploads read their source in this thread: an export's zip is produced while
        # it is read, with database queries that need this thread's practice scope.
        "transfer_config": TransferConfig(use_threads=False),
        "use_ssl": env_bool("S3_USE_SSL", True, environ),
        "verify": env_bool("S3_VERIFY", True, environ),
    }
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


def broker_url(url: str) -> str:
    """The Celery broker URL, with a host for the filesystem transport.

    ``filesystem://`` names no host, and kombu then logs "No hostname was
    supplied" every time it opens a connection (several times a minute in the
    ``make run`` log). The transport ignores the host, so naming one is harmless.
    """
    if url.rstrip("/") == "filesystem:":
        return "filesystem://localhost/"
    return url
