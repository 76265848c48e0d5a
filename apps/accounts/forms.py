"""The sign-in forms: Django's, saying so when the lockout (apps/accounts/lockout.py) refuses a sign-in."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from . import lockout
from .backends import client_ip


class _LockoutMessage:
    request: Any
    data: Any

    def _refuse_if_locked(self) -> None:
        username = str(self.data.get("username") or "")
        lock = lockout.lock_for(username=username, ip=client_ip(self.request))
        if lock is not None:
            raise ValidationError(lock.message, code="locked_out")


class LoginForm(_LockoutMessage, AuthenticationForm):
    def clean(self) -> dict[str, Any]:
        self._refuse_if_locked()
        return super().clean()


class AdminLoginForm(_LockoutMessage, AdminAuthenticationForm):
    def clean(self) -> dict[str, Any]:
        self._refuse_if_locked()
        return super().clean()
