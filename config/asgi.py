"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.request_limits import RequestBodyLimit  # noqa: E402
from live.origin import SameOriginValidator  # noqa: E402
from live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Over-limit request bodies are refused before Django reads them.
        "http": RequestBodyLimit(django_asgi_app),
        # Browsers send cookies cross-site on WebSocket handshakes: only our own origin (scheme,
        # host and port) or a trusted one may open one.
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

from config.startup import settle  # noqa: E402

settle()
