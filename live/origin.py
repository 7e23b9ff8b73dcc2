"""Who may open a WebSocket: the Origin check (scheme, host and port) and the denial of
unrouted paths."""

from __future__ import annotations

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            try:
                return value.decode("latin1")
            except UnicodeDecodeError:
                return None
    return None


def _normal(origin: str) -> str:
    """``scheme://host[:port]`` with the scheme's default port left out, lower case."""
    scheme, sep, rest = origin.strip().lower().partition("://")
    if not sep:
        return ""
    host, port = split_domain_port(rest) if not rest.startswith("[") else (rest, "")
    if port and _DEFAULT_PORTS.get(scheme) == port:
        rest = rest[: -len(port) - 1]
    return f"{scheme}://{rest}"


def _secure(scope) -> bool:
    if scope.get("scheme") in ("wss", "https"):
        return True
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        name, expected = proxy
        header = name.lower().removeprefix("http_").replace("_", "-").encode()
        value = _header(scope, header)
        return value is not None and value.split(",")[0].strip() == expected
    return False


def origin_allowed(scope) -> bool:
    """True when the handshake's ``Origin`` is this server's own origin (same scheme, host
    and port as the request, the host being one of ``ALLOWED_HOSTS``) or one of
    ``CSRF_TRUSTED_ORIGINS``. A missing Origin is refused."""
    origin = _header(scope, b"origin")
    if not origin:
        return False
    origin = _normal(origin)
    if origin in {_normal(trusted) for trusted in settings.CSRF_TRUSTED_ORIGINS}:
        return True
    host = _header(scope, b"host")
    if host is None and scope.get("server"):
        server_host, server_port = scope["server"]
        host = f"{server_host}:{server_port}" if server_port else server_host
    if not host:
        return False
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    own = _normal(f"{'https' if _secure(scope) else 'http'}://{host}")
    return origin == own


class SameOriginValidator:
    """ASGI middleware: a WebSocket whose Origin fails :func:`origin_allowed` is refused at
    the handshake (HTTP 403), before authentication and routing."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)


# An unrouted /ws/... path is refused at the handshake like a foreign origin, not a 500.
refuse_unrouted = WebsocketDenier.as_asgi()
