"""The test suite (`make test`): the embedded stack, its own test database."""

import os
import uuid

from .base import *  # noqa: F403

DEBUG = False
CITYTWIN_DEMO_ACCOUNTS = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; test accounts only
ALLOWED_HOSTS = ["*"]
# Each test session has fresh data: its own cache namespace (inherited by the servers it starts).
CACHES["default"]["KEY_PREFIX"] = os.environ.setdefault("CITYTWIN_CACHE_PREFIX", f"test-{uuid.uuid4().hex[:10]}")  # noqa: F405
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ.setdefault(  # noqa: F405
    "CITYTWIN_CHANNEL_PREFIX",
    CACHES["default"]["KEY_PREFIX"],  # noqa: F405
)
# The suite makes thousands of API calls from one address; tests of throttling set low rates themselves.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min"}}  # noqa: F405
CELERY_TASK_DEFAULT_QUEUE = os.environ.setdefault("CITYTWIN_CELERY_QUEUE", f"jobs-{CACHES['default']['KEY_PREFIX']}")  # noqa: F405
_SESSION = CACHES["default"]["KEY_PREFIX"]  # noqa: F405
CITYTWIN_SIMULATION_QUEUE = os.environ.setdefault("CITYTWIN_SIMULATION_QUEUE", f"sim-{_SESSION}")
CELERY_TASK_ROUTES = {"simulation.*": {"queue": CITYTWIN_SIMULATION_QUEUE}}
# Runs and network builds of the suite stay in its own folders.
_RUNS = BASE_DIR / "var" / "test-runs" / _SESSION  # noqa: F405
CITYTWIN_SCENARIO_RUNS_DIR = os.environ.setdefault("CITYTWIN_SCENARIO_RUNS_DIR", str(_RUNS))
# Playwright's event loop stays alive in the test process; the live server's ORM calls then look "async".
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The test process creates and drops the test database: pooled connections would keep it open. The
# server that browser tests start sets CITYTWIN_DB_POOL=1 and pools, as in production.
if os.environ.get("CITYTWIN_DB_POOL") != "1":
    DATABASES["default"]["OPTIONS"]["pool"] = False  # noqa: F405
    DATABASES["jobs"]["OPTIONS"] = {**DATABASES["jobs"]["OPTIONS"], "pool": False}  # noqa: F405
# Tests see a data change on the lean tile path at once (tests of the delay set it themselves).
CITYTWIN_TILE_VERSION_TTL_MS = int(os.environ.get("CITYTWIN_TILE_VERSION_TTL_MS", "0"))
# Open websockets re-check their user every few seconds (production: every minute), so tests of role changes
# made without an announcement (a plain UPDATE) need not wait.
CITYTWIN_WS_RECHECK_S = float(os.environ.get("CITYTWIN_WS_RECHECK_S", "2"))
