"""Creates one demo account per role, for the embedded development stack only.

Passwords are random, kept in var/demo-accounts.json (not in git) and printed, so a second `make run`
prints the same ones. Refuses to run unless settings.CITYTWIN_DEMO_ACCOUNTS is true (never in prod)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import Role, User
from apps.accounts.services import create_user, set_role

DEMO_USERS = {"planner": Role.PLANNER, "operator": Role.OPERATOR, "gis": Role.GIS_STAFF, "admin": Role.ADMIN}


class Command(BaseCommand):
    help = "Create (or show) one demo account per role. Development stack only."

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "CITYTWIN_DEMO_ACCOUNTS", False):
            raise CommandError("demo accounts are disabled in these settings (CITYTWIN_DEMO_ACCOUNTS)")
        path = settings.BASE_DIR / "var" / "demo-accounts.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        for username, role in DEMO_USERS.items():
            password = known.get(username) or secrets.token_urlsafe(9)
            user = User.objects.filter(username=username).first()
            if user is None:
                create_user(username=username, password=password, role=role)
            else:
                if not user.check_password(password):
                    user.set_password(password)
                    user.save(update_fields=["password"])
                set_role(user=user, role=role)
            known[username] = password
        path.write_text(json.dumps(known, indent=2))
        path.chmod(0o600)
        self.stdout.write("Demo accounts (embedded stack only):")
        for username, role in DEMO_USERS.items():
            self.stdout.write(f"  {role.label:<17} {username:<9} password {known[username]}")
