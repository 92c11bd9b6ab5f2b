"""The typed environment readers and the URL parsers behind the settings."""

import io
import logging
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from practice.env import (
    broker_url,
    cache_from_url,
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    mailer_from_url,
    private_storage_from_env,
)

BASE = Path("/srv/attune")


def test_unset_and_blank_values_fall_back_to_defaults():
    environ = {"EMPTY": "  "}
    assert env_str("MISSING", "x", environ) == "x"
    assert env_str("EMPTY", "x", environ) == "x"
    assert env_bool("EMPTY", True, environ) is True
    assert env_int("EMPTY", 7, environ) == 7
    assert env_list("EMPTY", ["a"], environ) == ["a"]


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("Off", False)])
def test_booleans(raw, expected):
    assert env_bool("B", not expected, {"B": raw}) is expected


def test_bad_values_name_the_variable():
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env_bool("DEBUG", False, {"DEBUG": "maybe"})
    with pytest.raises(ImproperlyConfigured, match="EMAIL_PORT"):
        env_int("EMAIL_PORT", 25, {"EMAIL_PORT": "twenty"})


def test_numbers_with_bounds():
    assert env_float("R", 0.7, {}) == 0.7
    assert env_float("R", 0.7, {"R": "0.8"}, above=0, below=1) == 0.8
    with pytest.raises(ImproperlyConfigured, match="R must be a number"):
        env_float("R", 0.7, {"R": "high"})
    for outside in ("0", "1", "1.5", "-0.2"):
        with pytest.raises(ImproperlyConfigured, match="R must be between 0 and 1"):
            env_float("R", 0.7, {"R": outside}, above=0, below=1)


def test_lists_drop_blanks():
    assert env_list("HOSTS", None, {"HOSTS": "a.test, ,b.test,"}) == ["a.test", "b.test"]


def test_postgres_url():
    db = database_from_url("postgres://app:s%40cret@db.internal:6543/attune?sslmode=require", BASE)
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"]) == ("attune", "app", "s@cret")
    assert (db["HOST"], db["PORT"]) == ("db.internal", "6543")
    assert db["OPTIONS"] == {"sslmode": "require", "options": "-c jit=off"}
    overridden = database_from_url("postgres://h/db?options=-c%20jit%3Don", BASE)
    assert overridden["OPTIONS"] == {"options": "-c jit=on"}


def test_postgres_behind_pgbouncer_in_transaction_mode():
    db = database_from_url("postgres://app@pgbouncer:6432/attune?pooler=transaction", BASE)
    assert db["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert db["OPTIONS"] == {"prepare_threshold": None}  # no startup options, no prepares
    assert "DISABLE_SERVER_SIDE_CURSORS" not in database_from_url("postgres://h/db", BASE)
    with pytest.raises(ImproperlyConfigured, match="pooler"):
        database_from_url("postgres://h/db?pooler=session", BASE)


def test_sqlite_urls_relative_and_absolute():
    assert database_from_url("sqlite:///var/a.sqlite3", BASE)["NAME"] == "/srv/attune/var/a.sqlite3"
    absolute = database_from_url("sqlite:////tmp/b.sqlite3", BASE)
    assert absolute["NAME"] == "/tmp/b.sqlite3"
    # The test database is a file beside it, so a worker process can share it.
    assert absolute["TEST"]["NAME"] == "/tmp/test_b.sqlite3"


def test_unknown_schemes_are_refused():
    with pytest.raises(ImproperlyConfigured, match="mysql"):
        database_from_url("mysql://x/y", BASE)
    with pytest.raises(ImproperlyConfigured, match="must name a database"):
        database_from_url("postgres://host/", BASE)
    with pytest.raises(ImproperlyConfigured):
        cache_from_url("memcached://x", BASE)


def test_cache_urls():
    assert (
        cache_from_url("redis://127.0.0.1:6379/1", BASE)["LOCATION"] == "redis://127.0.0.1:6379/1"
    )
    assert cache_from_url("file:///tmp/c", BASE)["LOCATION"] == "/tmp/c"


def test_email_urls():
    smtp = mailer_from_url("smtp://mailer:p%40ss@smtp.example.test:587?tls=1")
    assert smtp["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert smtp["OPTIONS"]["host"] == "smtp.example.test"
    assert smtp["OPTIONS"]["port"] == 587
    assert smtp["OPTIONS"]["password"] == "p@ss"
    assert smtp["OPTIONS"]["use_tls"] is True
    assert mailer_from_url("console://")["OPTIONS"] == {}
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        mailer_from_url("carrierpigeon://coop")


def test_private_storage_is_the_local_folder_unless_s3_is_asked_for():
    local = private_storage_from_env({}, BASE / "private")
    assert local["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert local["OPTIONS"] == {"location": BASE / "private", "base_url": None}
    s3 = private_storage_from_env(
        {
            "PRIVATE_STORAGE": "S3",
            "S3_BUCKET": "attune-private",
            "S3_ENDPOINT_URL": "http://minio:9000",
            "S3_ACCESS_KEY_ID": "attune",
            "S3_SECRET_ACCESS_KEY": "secret",
            "S3_PREFIX": "/files/",
        },
        BASE / "private",
    )
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    options = s3["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"], options["location"]) == (
        "attune-private",
        "http://minio:9000",
        "files",
    )
    # Nothing made public, nothing overwritten by another practice's same-named upload.
    assert options["default_acl"] is None and options["file_overwrite"] is False
    assert options["transfer_config"].use_threads is False


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"PRIVATE_STORAGE": "s3"}, "S3_BUCKET"),
        ({"PRIVATE_STORAGE": "gcs"}, "PRIVATE_STORAGE"),
        ({"PRIVATE_STORAGE": "s3", "S3_BUCKET": "b", "S3_ADDRESSING_STYLE": "x"}, "S3_ADDRESSING"),
        ({"PRIVATE_STORAGE": "s3", "S3_BUCKET": "b", "S3_USE_SSL": "maybe"}, "S3_USE_SSL"),
    ],
)
def test_private_storage_misconfiguration_names_the_variable(environ, named):
    with pytest.raises(ImproperlyConfigured, match=named):
        private_storage_from_env(environ, BASE)


def test_console_mail_prints_links_whole_and_accents_as_written():
    """`make run` prints mail to the terminal; a copied link must work as printed."""
    from django.core.mail import EmailMessage

    from practice.console_mail import EmailBackend

    link = "http://127.0.0.1:8000/portal/enter/" + "k" * 90 + "/"
    stream = io.StringIO()
    message = EmailMessage("Invitación", f"Hola, Señora.\nOpen: {link}\n", to=["a@example.test"])
    EmailBackend(stream=stream).send_messages([message])
    printed = stream.getvalue()
    assert link in printed.splitlines()[-3]
    assert "Señora" in printed
    assert "quoted-printable" not in printed
    assert "=C3=B1" not in printed


def test_the_filesystem_broker_names_a_host_so_kombu_stays_quiet(caplog):
    from kombu import Connection

    assert broker_url("filesystem://") == "filesystem://localhost/"
    assert broker_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    with caplog.at_level(logging.WARNING, logger="kombu.connection"):
        Connection(broker_url("filesystem://")).info()
    assert "No hostname was supplied" not in caplog.text
    with caplog.at_level(logging.WARNING, logger="kombu.connection"):
        Connection("filesystem://").info()
    assert "No hostname was supplied" in caplog.text
