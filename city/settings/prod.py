"""Production: every secret and host from the environment; nothing demo."""

import os

os.environ["CITYTWIN_REQUIRE_SECRET"] = "1"  # noqa: S105 - a flag, not a secret

from .base import *  # noqa: E402,F403
from .env import env_bool, env_int  # noqa: E402

DEBUG = False
CITYTWIN_DEMO_ACCOUNTS = False
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
