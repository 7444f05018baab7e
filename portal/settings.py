"""Settings for the Librairies en réseau portal.

Everything that differs between a laptop and production is read from the
environment through one django-environ ``Env``; with nothing set the portal
runs in debug mode on an SQLite file under ``var/``.
"""

from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

#: Off unless asked: ``scripts/dev`` and the test run set ``DJANGO_DEBUG=true``.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
if DEBUG:
    SECRET_KEY = env("DJANGO_SECRET_KEY", default="django-insecure-dev-only-key-never-use-in-production-5b1d7c")
else:
    SECRET_KEY = env("DJANGO_SECRET_KEY")  # no default: production refuses to start without one
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "axes",
    "csp",
    "portal",
    "catalogue",
    "bookshops",
    "reservations",
    "orders",
    "passculture",
    "demo",
    "figures",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.middleware.ReplicaRoutingMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.RefuseBrokenInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.FrenchFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "bookshops.middleware.ReaderLocationCookieMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bookshops.context_processors.location",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
if not VAR_DIR.is_dir():  # the default SQLite file, uploads and static files live there
    try:
        VAR_DIR.mkdir()
    except OSError as exc:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"Cannot create {VAR_DIR} ({exc}): create it, or set DATABASE_URL, "
            "DJANGO_MEDIA_ROOT and DJANGO_STATIC_ROOT elsewhere."
        ) from None
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so two concurrent
    # writers queue instead of failing half-way with "database is locked".
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    _db.setdefault("TEST", {})["NAME"] = env("DJANGO_SQLITE_TEST_NAME", default=None)
else:
    # Persistent connections double page throughput; server-side binding
    # is off so psycopg never switches a search to a slow generic plan.
    _db["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    _db["CONN_HEALTH_CHECKS"] = True
    _db.setdefault("OPTIONS", {}).setdefault("prepare_threshold", None)
    # A search over a very common word ranks the first matches a scan meets: with synchronised
    # scans that set changed from one identical request to the next (page 2 could repeat page 1).
    _db["OPTIONS"].setdefault("options", "-c synchronize_seqscans=off")
#: A streaming replica of the primary; reader pages read from it (``portal.routers``).
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **env.db_url("DATABASE_REPLICA_URL"),
        "CONN_MAX_AGE": _db.get("CONN_MAX_AGE", 0),
        "CONN_HEALTH_CHECKS": _db.get("CONN_HEALTH_CHECKS", False),
        "OPTIONS": dict(_db.get("OPTIONS", {})),
        # The test database reaches the replica by streaming replication: never create one there.
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["portal.routers.PrimaryReplicaRouter"]
#: After a write, a client's reads stay on the primary this long (longer than any normal replication lag).
READ_YOUR_WRITES_SECONDS = env.int("READ_YOUR_WRITES_SECONDS", default=15)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background tasks ----------------------------------------------------------
# Django's Tasks API (django.tasks on Django 6, the django_tasks backport before).
# TASKS_BACKEND: "db" (default: the database is the queue, `manage.py db_worker`
# runs the tasks), "rq" (Redis at TASKS_REDIS_URL, `manage.py rqworker`, for
# several worker machines; `pip install .[rq]`) or "immediate" (in the request:
# tests, or a setup with no worker at all).
TASKS_API = "django.tasks" if find_spec("django.tasks") else "django_tasks"
if TASKS_API == "django_tasks":
    INSTALLED_APPS.append("django_tasks")
# Installed whatever the backend, so that switching backends never changes the migrations.
INSTALLED_APPS.append("django_tasks_db")
TASKS_BACKEND = env("TASKS_BACKEND", default="db")
if TASKS_BACKEND == "db":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
elif TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    RQ_QUEUES = {"default": {"URL": env("TASKS_REDIS_URL", default="redis://127.0.0.1:6379/0")}}
elif TASKS_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": f"{TASKS_API}.backends.immediate.ImmediateBackend"}}
else:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"TASKS_BACKEND must be db, rq or immediate, not {TASKS_BACKEND!r}")

# --- Cache ------------------------------------------------------------------
# Per-process memory by default; production with several gunicorn workers
# shares one (e.g. CACHE_URL=rediscache://127.0.0.1:6379/1 or dbcache://portal_cache)
# so that the reservation rate limits count across workers.
# `check --deploy` refuses a per-process cache (portal/checks.py).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
# Culling deletes live entries once the cache holds MAX_ENTRIES (300 by
# default): rate-limit slots would vanish and the limits leak.
CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", env.int("CACHE_MAX_ENTRIES", default=100_000))

# --- Auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
#: Where a login with no (or an unsafe) ``next`` lands.
LOGIN_REDIRECT_URL = "admin:index"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes, counted in the database so that every worker
# sees the same failures). A username or an address is locked out after
# AXES_FAILURE_LIMIT failures for AXES_COOLOFF_TIME; the association unlocks
# in the admin (Axes → Access attempts: delete) or with
# `manage.py axes_reset_username <name>`; a password reset unlocks too.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "portal.clients.client_ip"
#: No log of successful logins (addresses and browsers are personal data); failures only, until unlocked.
AXES_DISABLE_ACCESS_LOG = True
#: Password-reset e-mails one client may ask for per hour.
PASSWORD_RESET_RATE_LIMIT = env.int("PASSWORD_RESET_RATE_LIMIT", default=5)

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ---------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=VAR_DIR / "static")
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=VAR_DIR / "media")
#: Kept stock files: outside MEDIA_ROOT and without a URL, served only by a permission-checked view.
PRIVATE_MEDIA_ROOT = env.path("DJANGO_PRIVATE_MEDIA_ROOT", default=VAR_DIR / "private")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {"BACKEND": "portal.storage.PrivateStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "portal.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# --- E-mail -----------------------------------------------------------------
#: Empty when unset: `check --deploy` says so (portal/checks.py).
EMAIL_URL = env("EMAIL_URL", default="")
_email = env.email_url_config(EMAIL_URL or ("consolemail://" if DEBUG else "smtp://localhost:25"))
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="Librairies en réseau <contact@librairies.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security (production defaults whenever DEBUG is off) ------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

#: The address of the client: META key the reverse proxies write (e.g. "HTTP_X_FORWARDED_FOR" or
#: "HTTP_X_REAL_IP"; empty: REMOTE_ADDR), and how many proxies append to it. The client is the
#: CLIENT_IP_TRUSTED_PROXIES-th address from the right (portal/clients.py).
CLIENT_IP_HEADER = env("CLIENT_IP_HEADER", default=env("RESERVATIONS_CLIENT_IP_HEADER", default=""))
CLIENT_IP_TRUSTED_PROXIES = env.int("CLIENT_IP_TRUSTED_PROXIES", default=1)

# Content-Security-Policy (django-csp 4): no inline script or style anywhere,
# so nothing but the portal's own files runs; images also from the map's tile server.
MAP_TILE_URL = env("MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
_tiles = urlsplit(MAP_TILE_URL)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, *([f"{_tiles.scheme}://{_tiles.netloc}"] if _tiles.netloc else [])],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}
# Only the "Me localiser" button uses a browser feature.
PERMISSIONS_POLICY = {
    "geolocation": ["self"],
    **{
        feature: []
        for feature in (
            "accelerometer",
            "autoplay",
            "camera",
            "display-capture",
            "encrypted-media",
            "gyroscope",
            "magnetometer",
            "microphone",
            "midi",
            "payment",
            "publickey-credentials-get",
            "screen-wake-lock",
            "serial",
            "usb",
            "xr-spatial-tracking",
            "browsing-topics",
        )
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}

# --- Portal -------------------------------------------------------------------
#: Share of a file's rows that may be rejected before the whole import is refused.
STOCK_IMPORT_MAX_REJECTED_SHARE = env.float("STOCK_IMPORT_MAX_REJECTED_SHARE", default=0.1)
#: Share of a shop's in-stock lines that one snapshot may drop before it is refused.
STOCK_IMPORT_MAX_DROPPED_SHARE = env.float("STOCK_IMPORT_MAX_DROPPED_SHARE", default=0.5)
#: Largest stock file accepted, by the admin upload and the API alike (bytes).
STOCK_FILE_MAX_BYTES = env.int("STOCK_FILE_MAX_BYTES", default=50 * 1024 * 1024)
#: Attempts before a search-index refresh is given up (logged as an error, shown in the admin).
SEARCH_INDEX_MAX_ATTEMPTS = env.int("SEARCH_INDEX_MAX_ATTEMPTS", default=10)

# --- Geography (bookshops) ----------------------------------------------------
#: "offline" (shipped GeoNames gazetteer, no network), "banfrance" or "nominatim".
GEOCODER = env("GEOCODER", default="offline")
GEOCODER_USER_AGENT = env("GEOCODER_USER_AGENT", default="librairies-en-reseau")
GEOCODER_TIMEOUT = env.int("GEOCODER_TIMEOUT", default=5)
GEOCODER_MIN_DELAY_SECONDS = env.float("GEOCODER_MIN_DELAY_SECONDS", default=1.0)
#: Radius choices offered to readers, in km; None means "any distance".
LOCATION_RADIUS_CHOICES = [10, 30, 50, 100]
LOCATION_DEFAULT_RADIUS_KM = env.int("LOCATION_DEFAULT_RADIUS_KM", default=30)
#: Days a reader's location is remembered in its signed cookie.
LOCATION_COOKIE_DAYS = env.int("LOCATION_COOKIE_DAYS", default=30)
#: Empty: OpenStreetMap's credit, in the reader's language.
MAP_TILE_ATTRIBUTION = env("MAP_TILE_ATTRIBUTION", default="")
#: Where readers write about the site (accessibility statement, footer).
PORTAL_CONTACT_EMAIL = env("PORTAL_CONTACT_EMAIL", default="contact@librairies.example")

# --- Reservations ---------------------------------------------------------------
#: Most copies one reservation may hold.
RESERVATIONS_MAX_COPIES = env.int("RESERVATIONS_MAX_COPIES", default=5)
#: Active (requested or confirmed) reservations one e-mail address may have at once.
RESERVATIONS_MAX_ACTIVE_PER_EMAIL = env.int("RESERVATIONS_MAX_ACTIVE_PER_EMAIL", default=3)
#: Reservations one client (IP address) may send per window (counted in the shared cache).
RESERVATIONS_RATE_LIMIT = env.int("RESERVATIONS_RATE_LIMIT", default=10)
RESERVATIONS_RATE_WINDOW_SECONDS = env.int("RESERVATIONS_RATE_WINDOW_SECONDS", default=3600)
#: Reservations one bookseller may make for customers at colleagues' shops per window.
RESERVATIONS_STAFF_RATE_LIMIT = env.int("RESERVATIONS_STAFF_RATE_LIMIT", default=20)
#: Copies one shop's staff may hold at once on one colleague's line for their customers.
RESERVATIONS_STAFF_MAX_COPIES_PER_LINE = env.int("RESERVATIONS_STAFF_MAX_COPIES_PER_LINE", default=5)
#: Opening days a shop has to confirm a reservation before it expires, and when it is reminded.
RESERVATIONS_CONFIRM_OPENING_DAYS = env.int("RESERVATIONS_CONFIRM_OPENING_DAYS", default=2)
RESERVATIONS_REMIND_OPENING_DAYS = env.int("RESERVATIONS_REMIND_OPENING_DAYS", default=1)
#: Days a closed reservation keeps the reader's personal data.
RESERVATIONS_RETENTION_DAYS = env.int("RESERVATIONS_RETENTION_DAYS", default=365)
#: Days a search that found nothing is kept after it was last made (purge_search_misses).
SEARCH_MISS_RETENTION_DAYS = env.int("SEARCH_MISS_RETENTION_DAYS", default=365)
#: Attempts before an e-mail is given up (and logged as an error).
RESERVATIONS_EMAIL_MAX_ATTEMPTS = env.int("RESERVATIONS_EMAIL_MAX_ATTEMPTS", default=10)
#: Scheme and host of the links in e-mails.
RESERVATIONS_LINK_BASE_URL = env("RESERVATIONS_LINK_BASE_URL", default="http://localhost:8000")
#: Problems of one import kept in full in its report (all of them are counted, by kind).
STOCK_IMPORT_MAX_REPORTED_PROBLEMS = env.int("STOCK_IMPORT_MAX_REPORTED_PROBLEMS", default=1000)
#: A running import whose worker gave no sign of life for this long is marked failed.
STOCK_IMPORT_STALE_SECONDS = env.int("STOCK_IMPORT_STALE_SECONDS", default=15 * 60)
#: Stock files up to this size are imported within the request (answer 200/422 at once); bigger ones by the
#: worker (answer 202, then GET the import's status_url; the admin shows a progress page).
STOCK_IMPORT_INLINE_MAX_BYTES = env.int("STOCK_IMPORT_INLINE_MAX_BYTES", default=256 * 1024)

# --- Orders and alerts ------------------------------------------------------------
#: Most copies of one order (a shop orders for a reader, not for a class).
ORDERS_MAX_COPIES = env.int("ORDERS_MAX_COPIES", default=2)
#: Orders one e-mail address may have under way at once.
ORDERS_MAX_ACTIVE_PER_EMAIL = env.int("ORDERS_MAX_ACTIVE_PER_EMAIL", default=3)
#: Hours the link confirming an order's address stays valid; the order expires then.
ORDERS_CONFIRM_HOURS = env.int("ORDERS_CONFIRM_HOURS", default=48)
#: Days an alert watches before it ends (with a notice).
ALERTS_LIFETIME_DAYS = env.int("ALERTS_LIFETIME_DAYS", default=183)
#: Open alerts one e-mail address may have.
ALERTS_MAX_PER_EMAIL = env.int("ALERTS_MAX_PER_EMAIL", default=20)

# --- pass Culture -----------------------------------------------------------------
# The association is one pass Culture provider: one key for all its member shops
# (README: "pass Culture"). Integration (tests with pass Culture):
# https://backend.staging.passculture.team
PASSCULTURE_API_URL = env("PASSCULTURE_API_URL", default="https://backend.passculture.pro")
PASSCULTURE_API_KEY = env("PASSCULTURE_API_KEY", default="")
#: The provider's HMAC key, which signs the booking notifications pass Culture sends.
PASSCULTURE_HMAC_KEY = env("PASSCULTURE_HMAC_KEY", default="")
PASSCULTURE_TIMEOUT_SECONDS = env.float("PASSCULTURE_TIMEOUT_SECONDS", default=30)
#: Attempts of one call on 429, 5xx or a network failure; waits double from the base, at most the max.
PASSCULTURE_MAX_ATTEMPTS = env.int("PASSCULTURE_MAX_ATTEMPTS", default=5)
PASSCULTURE_RETRY_BASE_SECONDS = env.float("PASSCULTURE_RETRY_BASE_SECONDS", default=2)
PASSCULTURE_RETRY_MAX_SECONDS = env.float("PASSCULTURE_RETRY_MAX_SECONDS", default=60)
#: Days an EAN's eligibility, as pass Culture answered it, is trusted before being asked again.
PASSCULTURE_EAN_CHECK_DAYS = env.int("PASSCULTURE_EAN_CHECK_DAYS", default=30)
# Figures (figures/): a stock older than this is flagged; the usual confirmation delay readers see
# is the median of the last FIGURES_TYPICAL_DELAY_DAYS, once a shop has that many confirmations.
FIGURES_STALE_STOCK_DAYS = env.int("FIGURES_STALE_STOCK_DAYS", default=7)
FIGURES_TYPICAL_DELAY_DAYS = env.int("FIGURES_TYPICAL_DELAY_DAYS", default=180)
FIGURES_TYPICAL_DELAY_MIN_COUNT = env.int("FIGURES_TYPICAL_DELAY_MIN_COUNT", default=20)
