"""Login lock-out (django-axes): after ``LOGIN_FAILURE_LIMIT`` wrong passwords for one username
from one client address, that pair is refused for ``LOGIN_LOCKOUT_MINUTES``, on every login
form (``/admin/login/``, ``/api-auth/login/``, ``POST /api/auth/login/``). A right password
during the lock-out is refused too; a success before it clears the count."""

from __future__ import annotations

import math

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpResponse, JsonResponse


class LoginLockoutBackend(AxesStandaloneBackend):
    """Axes' gate for logins that come with a request (every HTTP login). A call without one
    (``manage.py shell``, the test client's ``login()``) has no client address to count and is
    passed on to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, *args, **kwargs) -> HttpResponse:
    """429 with ``Retry-After``: JSON on API paths, text elsewhere. (django-axes calls this with
    differing arguments from its sync and async middleware; only ``request`` is used.)"""
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    message = (
        "Too many failed login attempts for this username from this address; "
        f"try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(max(1, math.ceil(minutes * 60)))
    return response
