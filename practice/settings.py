"""Settings for Attune, read from the environment.

With nothing set, the project runs on an embedded default under ``var/``:
SQLite, Celery's filesystem transport and private media on disk. Setting
``DATABASE_URL`` and ``CELERY_BROKER_URL`` moves the same code to PostgreSQL
and Redis. docs/configuration.md lists every variable.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from practice.env import (
    broker_url,
    cache_from_url,
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_path,
    env_str,
    mailer_from_url,
    private_storage_from_env,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("ATTUNE_VAR_DIR", BASE_DIR / "var")

DEBUG = env_bool("DEBUG", default=False)


def _secret_key() -> str:
    """Use SECRET_KEY when set; otherwise a random key kept in var/ for local runs."""
    configured = env_str("SECRET_KEY")
    if configured:
        return configured
    key_file = VAR_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(64)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "practice",
    "clients",
    "assessments",
    "reports",
    "demo",
]

MIDDLEWARE = [
    # Outermost, so it compresses the body every other middleware has finished with.
    "practice.middleware.CompressTextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "practice.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "practice.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "practice.middleware.ApiCommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "practice.middleware.ApiTokenMiddleware",
    "practice.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "practice.middleware.PracticeScopeMiddleware",
    # After the scope: a practice's idle timeout applies to that practice's pages only,
    # and so does its requirement of two-factor sign-in.
    "practice.middleware.IdleTimeoutMiddleware",
    "practice.middleware.TwoFactorRequiredMiddleware",
    "clients.portal.PortalMiddleware",
    # Innermost, inside both scopes: a refused object id is logged in the caller's practice.
    "practice.security.RefusalAuditMiddleware",
]

ROOT_URLCONF = "practice.urls"
WSGI_APPLICATION = "practice.wsgi.application"
ASGI_APPLICATION = "practice.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "practice.context_processors.practice",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------

DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'attune.sqlite3'}"), BASE_DIR
    )
}
# PostgreSQL's row-level security binds only roles that neither own the tables
# nor are superusers. The app connects as DATABASE_URL (such a role); migrations
# run as the owner, MIGRATION_DATABASE_URL, and `migrate` uses it when set.
# After every migrate the owner (re)creates the app role and the policies
# (practice/rls.py). docs/security.md explains the two walls.
MIGRATION_DATABASE_URL = env_str("MIGRATION_DATABASE_URL")
MIGRATION_DATABASE = (
    database_from_url(MIGRATION_DATABASE_URL, BASE_DIR) if MIGRATION_DATABASE_URL else None
)
DATABASE_APP_ROLE = env_str(
    "DATABASE_APP_ROLE",
    DATABASES["default"].get("USER") if MIGRATION_DATABASE_URL else "attune_app",  # type: ignore[arg-type]
)
DATABASE_APP_PASSWORD = (
    DATABASES["default"].get("PASSWORD", "")
    if DATABASES["default"].get("USER") == DATABASE_APP_ROLE
    else ""
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": cache_from_url(env_str("CACHE_URL", f"file://{VAR_DIR / 'cache'}"), BASE_DIR)}

# --- Accounts ---------------------------------------------------------------

AUTH_USER_MODEL = "practice.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 2

# Two-factor sign-in: a password-verified user has this long to enter the code;
# token creation and role or settings changes need a code this recent.
SECOND_FACTOR_PENDING_SECONDS = 5 * 60
SECOND_FACTOR_RECENT_MINUTES = env_int("SECOND_FACTOR_RECENT_MINUTES", 15)
OTP_TOTP_ISSUER = "Attune"
# Staff password reset requests, per address and per IP, within the window.
PASSWORD_RESET_REQUESTS_PER_ADDRESS = env_int("PASSWORD_RESET_REQUESTS_PER_ADDRESS", 3)
PASSWORD_RESET_REQUESTS_PER_IP = env_int("PASSWORD_RESET_REQUESTS_PER_IP", 10)
PASSWORD_RESET_REQUEST_WINDOW_SECONDS = 15 * 60
# Sign-in lockout: this many failures inside the window lock the account
# (or the address) until the window has passed since the last failure.
LOCKOUT_FAILURES_PER_ACCOUNT = env_int("LOCKOUT_FAILURES_PER_ACCOUNT", 5)
LOCKOUT_FAILURES_PER_IP = env_int("LOCKOUT_FAILURES_PER_IP", 20)
LOCKOUT_WINDOW = timedelta(minutes=env_int("LOCKOUT_WINDOW_MINUTES", 15))
# Idle staff sessions end after the practice's timeout; this is the default.
DEFAULT_IDLE_TIMEOUT_MINUTES = 30
# Refused reaches for another practice's or partner's data are logged at most
# once per caller, practice and reason in this many seconds.
SECURITY_EVENT_WINDOW_SECONDS = env_int("SECURITY_EVENT_WINDOW_SECONDS", 600)
# A colleague's invitation to a practice works once, for this many days.
STAFF_INVITATION_DAYS = env_int("STAFF_INVITATION_DAYS", 7)
# A partner's invitation link works once, for this many days.
PORTAL_INVITATION_DAYS = env_int("PORTAL_INVITATION_DAYS", 7)
# No reliable-change statistic is shown for a scale whose reliability (published, or
# Cronbach's alpha estimated from first administrations) is below this.
MIN_RCI_RELIABILITY = env_float("MIN_RCI_RELIABILITY", 0.70, above=0.0, below=1.0)

SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# --- Security (production values come from HTTPS-ready env) ----------------

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A strict Content Security Policy: scripts and styles from our own files, or
# carrying the per-response nonce; no inline code, no other origin. Charts in
# pages are SVG images (data: URLs), so their own styles stay inside them.
SECURE_CSP = {
    "default-src": [CSP.NONE],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
# Powerful browser features no page of ours uses.
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), display-capture=()"
)
if env_bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Client addresses (audit trail, per-address lockout): X-Forwarded-For counts only
# on connections from these proxies (gunicorn reads the same variable), and only
# the entry this many hops from the right. 0 uses the connection's own address.
FORWARDED_ALLOW_IPS = env_list("FORWARDED_ALLOW_IPS", ["127.0.0.1", "::1"])
TRUSTED_PROXY_NETWORKS = [
    ipaddress.ip_network(entry, strict=False) for entry in FORWARDED_ALLOW_IPS if entry != "*"
]
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0)

# --- Internationalisation ---------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Our own date formats first (practice/formats/), Django's for anything they leave out.
FORMAT_MODULE_PATH = ["practice.formats"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Files ------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = env_path("STATIC_ROOT", VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Client files (PDF reports, uploaded logos) live here and are never served by
# URL: views stream them after an authorisation check.
PRIVATE_MEDIA_ROOT = env_path("PRIVATE_MEDIA_ROOT", VAR_DIR / "private")
# PRIVATE_STORAGE=s3 moves them to a private bucket of an S3-compatible store,
# so every web and worker replica reads and writes the same files (configuration.md).
STORAGES = {
    "default": private_storage_from_env(os.environ, PRIVATE_MEDIA_ROOT),
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("MANIFEST_STATIC", default=False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Email ------------------------------------------------------------------

# console:// prints mail to the terminal (the default); production sets
# smtp://user:password@host:587?tls=1.
MAILERS = {"default": mailer_from_url(env_str("EMAIL_URL", "console://"))}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Attune <no-reply@attune.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery -----------------------------------------------------------------

CELERY_BROKER_URL = broker_url(env_str("CELERY_BROKER_URL", "filesystem://"))
_BROKER_IS_FILESYSTEM = CELERY_BROKER_URL.startswith("filesystem://")
if _BROKER_IS_FILESYSTEM:
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Redis re-delivers an unacknowledged task after the visibility timeout.
    # It must exceed the longest task time limit plus queueing, or a slow task
    # would run twice while still in progress.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 60 * 60,
        "socket_connect_timeout": 3,
        "socket_timeout": 10,
    }
# A request that queues work must not hang on a dead broker: a couple of quick
# retries, then the caller falls back on the sweepers.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Queue names carry a prefix so that a test run never shares queues with a
# local `make run` on the same broker (the Makefile's test target sets one).
QUEUE_PREFIX = env_str("CELERY_QUEUE_PREFIX", "")
CELERY_TASK_DEFAULT_QUEUE = f"{QUEUE_PREFIX}default"
REPORTS_QUEUE = f"{QUEUE_PREFIX}reports"
# Rendering reports is slow and memory hungry: it gets its own queue, and each
# worker process is replaced after a number of tasks or once it has grown past
# a memory ceiling, so WeasyPrint's memory goes back to the system.
CELERY_TASK_ROUTES = {
    "reports.tasks.render_report": {"queue": REPORTS_QUEUE},
    # A whole-practice export is long: it runs beside reports, not before scoring.
    "reports.tasks.build_export": {"queue": REPORTS_QUEUE},
}
CELERY_WORKER_MAX_TASKS_PER_CHILD = env_int("CELERY_WORKER_MAX_TASKS_PER_CHILD", 50)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 300_000)  # KiB
CELERY_TIMEZONE = "UTC"
# A report renderer renews its claim every third of this; a dead one loses the report to
# the next delivery once it lapses (reports/services.py).
REPORT_LEASE_SECONDS = env_int("REPORT_LEASE_SECONDS", 20)

# --- REST framework ---------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "practice.api_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "practice.api_throttles.TokenThrottle",
        "practice.api_throttles.IpThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "token": env_str("API_RATE_PER_TOKEN", "600/minute"),
        "ip": env_str("API_RATE_PER_IP", "1200/minute"),
    },
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["practice.api_errors.SafeJSONParser"],
    "EXCEPTION_HANDLER": "practice.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Attune API",
    "DESCRIPTION": "Couples, assessments, results and reports of one practice.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "practice.api_schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "practice.models.Role",
        "CoupleStatusEnum": "clients.models.CoupleStatus",
        "PortalStateEnum": "clients.models.PortalState",
        "ReportKindEnum": "reports.models.ReportKind",
        "ReportStatusEnum": "reports.models.ReportStatus",
        "ReportErrorEnum": "reports.models.ReportError",
        "AlertKindEnum": "assessments.models.AlertKind",
        "AlertStatusEnum": "assessments.models.AlertStatus",
        "AssignmentStatusEnum": "assessments.models.AssignmentStatus",
        "ResponseStateEnum": "assessments.models.ResponseState",
        "ScoringErrorEnum": "assessments.models.ScoringError",
        "InstrumentStatusEnum": "assessments.models.InstrumentStatus",
    },
}

# --- Logging ----------------------------------------------------------------
# Log lines carry ids and actions only: never a client's name, email or answer.

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # WeasyPrint reports every SVG presentation attribute it skips; keep errors only.
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "WARNING"},
    },
}

if not DEBUG and env_bool("REQUIRE_CONFIGURED_SECRET", default=False) and not env_str("SECRET_KEY"):
    raise ImproperlyConfigured("SECRET_KEY must be set in production.")
