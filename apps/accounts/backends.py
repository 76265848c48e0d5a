"""The authentication backend: Django's ModelBackend behind the sign-in lockout (apps/accounts/lockout.py).

Being a backend, the lockout holds for every password sign-in: the login page, the admin's login page and
anything else that calls django.contrib.auth.authenticate()."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from . import lockout


def client_ip(request: HttpRequest | None) -> str:
    # REMOTE_ADDR is what the ASGI server saw (uvicorn sets it from X-Forwarded-For only for trusted proxies).
    return str(request.META.get("REMOTE_ADDR") or "unknown") if request is not None else "unknown"


class LockoutModelBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if username is None or password is None:
            return None
        ip = client_ip(request)
        if lockout.lock_for(username=username, ip=ip) is not None:
            raise PermissionDenied("locked out")  # stops authenticate() trying other backends
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            lockout.record_failure(username=username, ip=ip)
        else:
            lockout.clear(username=username, ip=ip)
        return user
