"""Template context every page needs: the attribution line and the user's role."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

OSM_ATTRIBUTION = "© OpenStreetMap contributors"


def site(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    role = getattr(user, "role", None) if user is not None and user.is_authenticated else "public"
    return {"osm_attribution": OSM_ATTRIBUTION, "user_role": role, "max_upload_mb": settings.CITYTWIN_MAX_UPLOAD_MB}
