"""Production: every secret and host from the environment; nothing demo."""

import os

os.environ["CITYTWIN_REQUIRE_SECRET"] = "1"  # noqa: S105 - a flag, not a secret

from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from .base import *  # noqa: E402,F403
from .env import env_bool, env_int  # noqa: E402

# Django only warns (security.W009) about an empty or weak key; here it is a refusal to start.
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith(("django-insecure", "insecure-")):  # noqa: F405
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is empty or too weak: use at least 50 random characters, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

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
