"""Deployment artefacts: the compose file, production checks, the demo command."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django_scopes import scopes_disabled

from assessments.models import Alert, NormEstimate
from demo import staff as demo
from practice.models import Membership, Practice
from reports.models import Report

ROOT = Path(__file__).resolve().parent.parent


def compose_binary() -> Path:
    import compose

    return Path(compose.__file__).parent / "docker-compose"


def run_compose_config(folder: Path) -> subprocess.CompletedProcess[str]:
    # The binary itself, not the package's wrapper (which always exits 0).
    return subprocess.run(
        [str(compose_binary()), "-f", "docker-compose.yml", "config", "-q"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_compose_file_is_valid_with_the_example_env(tmp_path):
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    shutil.copy(ROOT / "Dockerfile", tmp_path)
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = run_compose_config(tmp_path)
    assert result.returncode == 0, result.stderr


REQUIRED = (
    "POSTGRES_PASSWORD",
    # Each container (and gunicorn worker) would otherwise make up a key of its own.
    "SECRET_KEY",
    "APP_DB_PASSWORD",
    "SITE_DOMAIN",
    "MINIO_ROOT_PASSWORD",
    "S3_APP_SECRET",
)


@pytest.mark.parametrize("missing", REQUIRED)
def test_compose_file_refuses_to_start_without_a_required_secret(tmp_path, missing):
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    (tmp_path / ".env").write_text("".join(f"{name}=x\n" for name in REQUIRED if name != missing))
    result = run_compose_config(tmp_path)
    assert result.returncode != 0
    assert missing in result.stderr


def test_compose_stack_has_every_service_with_health_and_volumes():
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    assert {"db", "redis", "minio", "bucket", "web", "worker", "report-worker", "beat"} <= set(
        services
    )
    for name in ("db", "redis", "minio", "web", "worker", "report-worker"):
        assert "healthcheck" in services[name], name
    assert {"db-data", "minio-data"} <= set(spec["volumes"])
    assert "gunicorn" in services["web"]["command"]


def test_only_the_proxy_is_reachable_and_only_it_may_name_the_client():
    """The probe's finding 3: the app port was published with --forwarded-allow-ips "*"."""
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    published = sorted(name for name, service in services.items() if service.get("ports"))
    assert published == ["proxy"]
    proxy_address = services["proxy"]["networks"]["app"]["ipv4_address"]
    for name in ("web", "worker", "report-worker", "beat", "migrate"):
        env = services[name]["environment"]
        assert env["FORWARDED_ALLOW_IPS"] == proxy_address, name
        assert env["TRUSTED_PROXY_HOPS"] == "1", name
        assert "edge" not in services[name]["networks"], name
    assert "*" not in " ".join(services["web"]["command"])
    assert spec["networks"]["data"]["internal"] is True
    assert services["db"]["networks"] == services["redis"]["networks"] == ["data"]
    assert services["minio"]["networks"] == services["bucket"]["networks"] == ["data"]
    assert "dynamic a web 8000" in (ROOT / "deploy" / "Caddyfile").read_text()


APP_SERVICES = ("web", "worker", "report-worker", "beat", "migrate")


def test_replicas_share_no_local_disk_and_beat_runs_once():
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    replicas = {name: services[name].get("deploy", {}).get("replicas", 1) for name in APP_SERVICES}
    assert replicas == {"web": 2, "worker": 2, "report-worker": 2, "beat": 1, "migrate": 1}
    for name in APP_SERVICES:
        service = services[name]
        # Nothing on a disk that another replica would need to see.
        assert not service.get("volumes"), name
        env = service["environment"]
        assert env["PRIVATE_STORAGE"] == "s3" and env["S3_ENDPOINT_URL"] == "http://minio:9000"
        assert env["S3_BUCKET"] == "attune-private"
        assert env["CACHE_URL"].startswith("redis://redis:")
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:")
        assert "PRIVATE_MEDIA_ROOT" not in env, name
        # migrate waits for the bucket job; the others wait for migrate.
        first = "bucket" if name == "migrate" else "migrate"
        assert service["depends_on"][first] == {"condition": "service_completed_successfully"}
    assert "beat" in services["beat"]["command"]
    # Sessions live in the database every replica shares (Django's default engine).
    from django.conf import settings

    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"


def test_the_bucket_job_makes_a_private_bucket_and_a_key_limited_to_it():
    import json

    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    script = spec["services"]["bucket"]["command"][0]
    assert "mc mb --ignore-existing attune/attune-private" in script
    assert "mc anonymous set none attune/attune-private" in script
    assert "mc admin user add attune attune-app" in script
    policy = json.loads((ROOT / "deploy" / "minio-app-policy.json").read_text())
    resources = {r for statement in policy["Statement"] for r in statement["Resource"]}
    assert resources == {"arn:aws:s3:::attune-private", "arn:aws:s3:::attune-private/*"}
    actions = {a for statement in policy["Statement"] for a in statement["Action"]}
    assert not any(a in {"s3:*", "s3:PutBucketPolicy", "s3:DeleteBucket"} for a in actions)


def test_the_app_connects_as_its_own_role_and_migrations_as_the_owner():
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    owner = services["db"]["environment"]["POSTGRES_USER"]
    app_url = services["web"]["environment"]["DATABASE_URL"]
    assert app_url.startswith("postgres://attune_app:")
    assert not app_url.startswith(f"postgres://{owner}:")
    migrate_url = services["migrate"]["environment"]["MIGRATION_DATABASE_URL"]
    assert migrate_url.startswith(f"postgres://{owner}:")
    assert "MIGRATION_DATABASE_URL" not in services["web"]["environment"]


def production_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTEST"))}
    env.update(
        DJANGO_SETTINGS_MODULE="practice.settings",
        SECRET_KEY=secrets.token_urlsafe(64),
        DEBUG="0",
        ALLOWED_HOSTS="attune.example.org",
        SECURE_SSL_REDIRECT="1",
        SECURE_COOKIES="1",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_PRELOAD="1",
        BEHIND_TLS_PROXY="1",
        EMAIL_URL="smtp://mailer:secret@smtp.example.org:587?tls=1",
    )
    return env


def test_deploy_check_is_clean_with_https_ready_env():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_flags_an_insecure_configuration():
    env = production_env()
    env.update(SECURE_COOKIES="0", SECURE_HSTS_SECONDS="0")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "SESSION_COOKIE_SECURE" in result.stderr


PROBE = """
import json
import django
django.setup()
from django.templatetags.static import static
from django.test import Client
client = Client(HTTP_HOST="attune.example.org", headers={"x-forwarded-proto": "https"})
css = client.get(static("css/app.css"))
page = client.get("/accounts/sign-in/", headers={"accept-encoding": "gzip"})
print(json.dumps({
    "css_url": static("css/app.css"),
    "css_cache": css.get("Cache-Control", ""),
    "page_status": page.status_code,
    "page_encoding": page.get("Content-Encoding", ""),
    "page_vary": page.get("Vary", ""),
}))
"""


@pytest.mark.slow
def test_production_pages_are_compressed_and_static_files_cached_for_a_year(tmp_path):
    """The image's settings (MANIFEST_STATIC=1): hashed static names that may be cached
    for good, and gzipped HTML even without the proxy in front."""
    import json

    env = production_env()
    env.update(MANIFEST_STATIC="1", STATIC_ROOT=str(tmp_path / "static"))
    collected = subprocess.run(
        # Our own files only: compressing the API browser's bundles takes a minute.
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"]
        + [f"--ignore={app}" for app in ("admin", "drf_spectacular_sidecar", "rest_framework")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert collected.returncode == 0, collected.stderr
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert seen["css_url"] != "/static/css/app.css"  # a content-hashed name
    assert "max-age=315360000" in seen["css_cache"] and "immutable" in seen["css_cache"]
    assert seen["page_status"] == 200
    assert seen["page_encoding"] == "gzip"
    assert "Accept-Encoding" in seen["page_vary"]


@pytest.mark.slow
@pytest.mark.django_db
def test_demo_command_creates_the_practice_once_and_prints_working_logins(client, capsys):
    call_command("demo")
    call_command("demo")
    out = capsys.readouterr().out
    assert "Created the demo practice" in out
    assert "Found the demo practice" in out
    assert Practice.objects.filter(slug=demo.DEMO_SLUG).count() == 1
    with scopes_disabled():
        roles = set(
            Membership.objects.filter(practice__slug=demo.DEMO_SLUG).values_list("role", flat=True)
        )
    assert roles == {"owner", "clinician", "assistant"}
    with scopes_disabled():
        # One demo couple is moving apart: a split alert, ranked right after safety.
        split = Alert.objects.filter(kind="split").select_related("couple")
        assert {a.couple.label for a in split} == {"Mapleton & Cross"}
        assert {a.severity for a in split} == {2}
        # The private screen has no norms, so nothing there is a deterioration.
        assert not NormEstimate.objects.filter(instrument__key="safety-screen").exists()
        assert set(Report.objects.values_list("status", flat=True)) == {"ready"}
    for login in demo.staff_logins():
        assert login.email in out
        assert login.password in out
        response = client.post(
            "/accounts/sign-in/", {"username": login.email, "password": login.password}
        )
        assert response.status_code == 302, login.email
        client.post("/accounts/sign-out/")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.worker
def test_make_run_stack_serves_sign_in_and_processes_tasks(tmp_path):
    """What `make run` does, on the embedded default in an empty folder."""
    import time
    import urllib.request

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTEST"))}
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "CELERY_QUEUE_PREFIX"):
        env.pop(key, None)
    env.update(ATTUNE_VAR_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1")
    manage = [sys.executable, "manage.py"]
    for step in (["migrate", "--no-input"], ["demo"], ["collectstatic", "--no-input"]):
        done = subprocess.run(
            [*manage, *step],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    port = _free_port()
    log = (tmp_path / "stack.log").open("w")
    stack = subprocess.Popen(
        [*manage, "runstack", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        page = ""
        while time.monotonic() < deadline and stack.poll() is None:
            output = (tmp_path / "stack.log").read_text()
            if not page:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/sign-in/") as r:
                        page = r.read().decode()
                except OSError:
                    pass
            if page and "worker is processing tasks" in output:
                break
            time.sleep(0.5)
        output = (tmp_path / "stack.log").read_text()
        assert "Sign in to Attune" in page, output[-3000:]
        assert "worker is processing tasks" in output, output[-3000:]
        assert "No hostname was supplied" not in output
    finally:
        stack.terminate()
        stack.wait(timeout=30)
        log.close()
    assert stack.returncode == 0
