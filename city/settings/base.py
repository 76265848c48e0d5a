"""Settings shared by every environment. Site-specific values come from the environment (see env.py);
dev.py, test.py and prod.py only override what differs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# prod.py sets CITYTWIN_REQUIRE_SECRET: there a missing DJANGO_SECRET_KEY stops the process.
SECRET_KEY = env_str(
    "DJANGO_SECRET_KEY",
    None if env_bool("CITYTWIN_REQUIRE_SECRET") else "insecure-dev-only-key-never-used-in-production",
)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "apps.core",
    "apps.accounts",
    "apps.buildings",
    "apps.roads",
    "apps.assets",
    "apps.districts",
    "apps.energy",
    "apps.privacy",
    "apps.sensors",
    "apps.telemetry",
    "apps.streaming",
    "apps.jobs",
    "apps.simulation",
    "apps.demo_feed",
    "apps.imports",
    "apps.tiles",
    "apps.maps",
    "apps.portal",
    "apps.ogc",
    "apps.sensorthings",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "city.urls"
ASGI_APPLICATION = "city.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.site",
            ],
        },
    },
]

# The embedded stack (bin/stack) listens on these ports; DATABASE_URL etc. point elsewhere in production.
DATABASE_URL = env_str("DATABASE_URL", "postgis://citytwin@127.0.0.1:54329/citytwin")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
# Under ASGI Django cannot keep connections between requests (CONN_MAX_AGE must be 0); a new connection
# per request cost 5-28 ms here (bench/README.md), so psycopg's pool keeps them open per process.
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["OPTIONS"] = {
    **DATABASES["default"].get("OPTIONS", {}),
    "pool": {"min_size": 1, "max_size": env_int("CITYTWIN_DB_POOL_SIZE", 20), "timeout": 10}
    if env_bool("CITYTWIN_DB_POOL", True)
    else False,
    # JIT compiled the larger tile queries on every request and made them slower (bench/README.md).
    "options": "-c jit=off",
}
# The same database through a second connection: a job's progress is written there, so it is visible while
# the job's own work holds a transaction open (apps/jobs/services.py). Tests mirror it onto "default".
DATABASES["jobs"] = {
    **DATABASES["default"],
    "OPTIONS": {**DATABASES["default"]["OPTIONS"]},
    "TEST": {"MIRROR": "default"},
}
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:63799/0")
MQTT_URL = env_str("MQTT_URL", "mqtt://127.0.0.1:18839")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/map/"
LOGOUT_REDIRECT_URL = "/"

# The lockout backend refuses sign-ins after repeated failures (apps/accounts/lockout.py).
AUTHENTICATION_BACKENDS = ["apps.accounts.backends.LockoutModelBackend"]
CITYTWIN_LOGIN_MAX_FAILURES = env_int("CITYTWIN_LOGIN_MAX_FAILURES", 5)
CITYTWIN_LOGIN_MAX_FAILURES_PER_IP = env_int("CITYTWIN_LOGIN_MAX_FAILURES_PER_IP", 30)
CITYTWIN_LOGIN_LOCKOUT_S = env_int("CITYTWIN_LOGIN_LOCKOUT_S", 15 * 60)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"


def _plotly_dist() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data"


# plotly.min.js comes from the pinned plotly wheel (the same build Dash uses), served as
# /static/vendor/plotly/plotly.min.js: no copy in git, no CDN.
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/plotly", _plotly_dist())]
MEDIA_ROOT = Path(env_str("CITYTWIN_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
WHITENOISE_USE_FINDERS = True

# Request bodies: city/asgi.py answers 413 before Django reads a body over CITYTWIN_MAX_BODY_KB (any URL,
# any client), except on the upload page for gis_staff and admin, who may send CITYTWIN_MAX_UPLOAD_MB.
# Bodies under FILE_UPLOAD_MAX_MEMORY_SIZE stay in memory, so the default limit never touches the disk.
CITYTWIN_MAX_BODY_KB = env_int("CITYTWIN_MAX_BODY_KB", 5 * 1024)
CITYTWIN_MAX_UPLOAD_MB = env_int("CITYTWIN_MAX_UPLOAD_MB", 200)
DATA_UPLOAD_MAX_MEMORY_SIZE = CITYTWIN_MAX_BODY_KB * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = CITYTWIN_MAX_BODY_KB * 1024

# Security defaults (prod.py tightens cookies and HSTS).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the map's fetch() calls read it for unsafe methods

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.accounts.permissions.RoleReadOnly"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.FeaturePagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.exceptions.api_exception_handler",
    "PAGE_SIZE": 1000,
    "DEFAULT_THROTTLE_CLASSES": ["apps.core.throttling.AnonThrottle", "apps.core.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("CITYTWIN_THROTTLE_ANON", "600/min"),
        "user": env_str("CITYTWIN_THROTTLE_USER", "6000/min"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CityTwin API",
    "DESCRIPTION": "The city's buildings, road network, utility assets, districts and sensors. "
    "Map data (c) OpenStreetMap contributors, ODbL.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two models have a `state` with different choices: stable names for generated clients.
    "ENUM_NAME_OVERRIDES": {
        "ImportStateEnum": "apps.imports.models.ImportState",
        "JobStateEnum": "apps.jobs.models.JobState",
    },
    # Error answers (one Error component), optional auth on public reads: apps/core/schema.py.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.schema.document_errors_and_auth",
    ],
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CITYTWIN_CACHE_PREFIX", "ct"),
    }
}

# The pub/sub layer sends a group message once per process (not once per member): fan-out to many
# sockets costs one Redis message per batch. Lossy like any channel layer: publishers number batches.
CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        # Separate deployments (or test sessions, benchmarks) sharing one Redis must not hear each other.
        "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("CITYTWIN_CHANNEL_PREFIX", "citytwin")},
    }
}
CITYTWIN_WS_ALLOWED_ORIGINS = env_list("CITYTWIN_WS_ALLOWED_ORIGINS", [])

CELERY_BROKER_URL = REDIS_URL
# Long work (apps/jobs): one queue per deployment; a test session uses its own, so a developer's running
# worker never takes a test's jobs (or the other way round).
CELERY_TASK_DEFAULT_QUEUE = env_str("CITYTWIN_CELERY_QUEUE", "default")
# Scenario simulations have their own queue, so a long run never holds up an upload; add workers for it on
# other machines (docs/deployment.md).
CITYTWIN_SIMULATION_QUEUE = env_str("CITYTWIN_SIMULATION_QUEUE", "simulation")
CELERY_TASK_ROUTES = {"simulation.*": {"queue": CITYTWIN_SIMULATION_QUEUE}}
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CITYTWIN_JOB_SOFT_TIME_LIMIT_S", 2 * 3600)
# Longer than the soft time limit of any job, or Redis redelivers a running task (../shared/NOTES.md); a
# redelivered job finds its lease held and does not run twice (apps/jobs/services.py).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CITYTWIN_CELERY_VISIBILITY_TIMEOUT", 4 * 3600)}
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A job whose worker died is queued again once its lease (CITYTWIN_JOB_LEASE_S) has run out; beat runs
# with the worker (`celery worker -B` in bin/run; one beat per deployment, docs/deployment.md).
CELERY_BEAT_SCHEDULE = {
    "requeue-stalled-jobs": {"task": "jobs.requeue_stalled", "schedule": float(env_int("CITYTWIN_JOB_SWEEP_S", 30))},
    # The ingest upkeep's safety net: the MQTT ingest worker folds and evaluates alerts every second or so;
    # this catches up where it is not running (apps/telemetry/tasks.py, docs/ingest.md).
    "telemetry-upkeep": {"task": "telemetry.upkeep", "schedule": float(env_int("CITYTWIN_TELEMETRY_UPKEEP_S", 60))},
}

# Vector tiles: browsers may cache public tiles this long; tiles depending on the role are private.
CITYTWIN_TILE_MAX_AGE = env_int("CITYTWIN_TILE_MAX_AGE", 300)
# The tile cache (Redis, shared by the processes, plus a small in-process copy of the hot tiles); off only
# to measure or debug the SQL path.
CITYTWIN_TILE_CACHE = env_bool("CITYTWIN_TILE_CACHE", True)
CITYTWIN_TILE_HOT_MB = env_int("CITYTWIN_TILE_HOT_MB", 64)
# How long a process trusts the city's data version it last read from Redis before reading it again, on the
# lean tile path (apps/tiles/lean.py): a change reaches every process's tiles within this time (browsers
# keep tiles for CITYTWIN_TILE_MAX_AGE anyway); 0 reads it on every request.
CITYTWIN_TILE_LEAN = env_bool("CITYTWIN_TILE_LEAN", True)
# The lean path's own PostgreSQL connections per process (tile misses), besides Django's pool.
CITYTWIN_TILE_POOL_SIZE = env_int("CITYTWIN_TILE_POOL_SIZE", 4)
CITYTWIN_TILE_VERSION_TTL_MS = env_int("CITYTWIN_TILE_VERSION_TTL_MS", 1000)
# Connections per process for websockets' session lookups (apps/accounts/async_identity.py), besides Django's pool.
CITYTWIN_SESSION_POOL_SIZE = env_int("CITYTWIN_SESSION_POOL_SIZE", 2)

# How the ASGI server hands reads to Django (city/asgi.py): "wsgi" (its WSGI handler on a pool of
# CITYTWIN_DJANGO_THREADS threads) or "asgi" (its ASGI handler). The database pool above has room for these
# threads and the Dash boards' 8.
CITYTWIN_DJANGO_HTTP = env_str("CITYTWIN_DJANGO_HTTP", "wsgi")
if CITYTWIN_DJANGO_HTTP not in ("wsgi", "asgi"):
    raise ImproperlyConfigured(f"CITYTWIN_DJANGO_HTTP={CITYTWIN_DJANGO_HTTP!r}: use wsgi or asgi")
CITYTWIN_DJANGO_THREADS = env_int("CITYTWIN_DJANGO_THREADS", 10)
# GeoJSON list pages of the layers that change only through imports and edits, cached under the same data
# version (apps/core/list_cache.py); pages above the size limit are always rendered.
CITYTWIN_LIST_CACHE = env_bool("CITYTWIN_LIST_CACHE", True)
CITYTWIN_LIST_CACHE_MAX_KB = env_int("CITYTWIN_LIST_CACHE_MAX_KB", 8192)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("CITYTWIN_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "pyrosm": {"level": "WARNING"}},
}

SILENCED_SYSTEM_CHECKS = [
    # Debian 12 ships GDAL 3.6.2; Django 5.2 warns below 3.9. We only use GDAL for SRS lookups and the
    # admin widget; geometry I/O goes through pyogrio/GEOS and PostGIS, which are current.
    "gis.W001",
]
