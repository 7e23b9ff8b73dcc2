"""ASGI entry point: HTTP through Django, WebSockets through Channels.

HTTP requests run Django's WSGI handler on a pool of ``HTTP_THREADS`` threads
(config/wsgi_threads.py), the whole request (signals, middleware, view, response) in one
hand-off from the event loop.
Django's own ASGI handler runs each sync middleware through ``sync_to_async`` and starts a
thread per request; served under wrk that cost more CPU than the views themselves
(BENCHMARKS.md, "The ledger over real HTTP"). Every view and middleware of TradePulse's HTTP
side is sync, so nothing is lost.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from config import worker_balance  # noqa: E402
from config.wsgi_threads import WSGIThreads  # noqa: E402

django_http_app = WSGIThreads(
    get_wsgi_application(),
    threads=settings.HTTP_THREADS,
    concurrency=settings.HTTP_CONCURRENCY,
    balance=worker_balance.for_worker() if settings.HTTP_BALANCE else None,
)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.request_limits import RequestBodyLimit  # noqa: E402
from live.origin import SameOriginValidator  # noqa: E402
from live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Over-limit request bodies are refused before Django reads them; a streamed response
        # stops when its client has gone.
        "http": RequestBodyLimit(django_http_app),
        # Browsers send cookies cross-site on WebSocket handshakes: only our own origin (scheme,
        # host and port) or a trusted one may open one.
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

from config.startup import settle  # noqa: E402

settle()
