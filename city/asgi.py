"""The ASGI entry point (uvicorn serves it): HTTP goes to Django; websockets to the one Channels consumer
at /ws/, behind the same-origin check and the session (see apps/streaming)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city.settings.dev")

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from apps.streaming.routing import websocket_application  # noqa: E402  (needs the apps loaded)

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application()})
