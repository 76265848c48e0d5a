"""The test suite (`make test`): the embedded stack, its own test database."""

import os

from .base import *  # noqa: F403

DEBUG = False
CITYTWIN_DEMO_ACCOUNTS = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; test accounts only
ALLOWED_HOSTS = ["*"]
# Playwright's event loop stays alive in the test process; the live server's ORM calls then look "async".
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
