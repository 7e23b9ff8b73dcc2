"""TradePulse's URLs plus views that fail on purpose, for tests against a served process."""

import time

from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path

from config.urls import urlpatterns as tradepulse_urlpatterns


class Boom(RuntimeError):
    pass


def fail_before_response(request):
    raise Boom(f"failed before the response: {request.GET.get('mark', '')}")


def fail_mid_stream(request):
    mark = request.GET.get("mark", "")

    def body():  # TradePulse's streamed bodies (CSV) are sync generators
        yield b"first line of a response that fails\n"
        raise Boom(f"failed mid-stream: {mark}")

    return StreamingHttpResponse(body(), content_type="text/plain")


def ok(request):
    return HttpResponse("ok")


def slow(request):
    """A request that takes ``?s=`` seconds (a slow query, a Lambda call)."""
    time.sleep(float(request.GET.get("s", "0.02")))
    return HttpResponse("ok")


urlpatterns = [
    path("test/fail-before-response", fail_before_response),
    path("test/fail-mid-stream", fail_mid_stream),
    path("test/ok", ok),
    path("test/slow", slow),
    *tradepulse_urlpatterns,
]
