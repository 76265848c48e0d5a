"""Production settings are safe by default; demo accounts never exist outside the embedded stack."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = _manage("check", env={"DJANGO_SETTINGS_MODULE": "city.settings.prod"})
    assert result.returncode != 0
    assert "environment variable DJANGO_SECRET_KEY is required" in result.stderr


def test_production_passes_the_deployment_checklist() -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DJANGO_SETTINGS_MODULE": "city.settings.prod",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
            "DJANGO_ALLOWED_HOSTS": "city.example.org",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_demo_accounts_are_refused_outside_the_embedded_stack() -> None:
    with pytest.raises(CommandError, match="demo accounts are disabled"):
        call_command("create_demo_accounts")


@pytest.mark.parametrize("key", ["", "short", "x" * 60, "insecure-" + "a1b2c3d4e5" * 6])
def test_production_refuses_an_empty_or_weak_secret_key(key: str) -> None:
    result = _manage("check", env={"DJANGO_SETTINGS_MODULE": "city.settings.prod", "DJANGO_SECRET_KEY": key})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is empty or too weak" in result.stderr
