"""Query parameters: an API operation (``/api/...``) takes those its OpenAPI document declares,
each once.

The document (drf-spectacular: a list's filter set and paginator, each view's
``extend_schema`` parameters) is the one declaration. A parameter it does not list for the
operation (``?tickr=AAPL``, which would otherwise list every trade), or one given twice
(``?ticker=AAPL&ticker=MSFT``, of which only one would count), is a 400 naming it, before
anything else of the request runs, as a body over the limit is a 413 before it is read.
DRF's format override (``?format=``) is allowed everywhere: the negotiation answers a format a
view does not have. A write also takes what the same path's GET takes (a form posted from a
list page's URL; ignored). Views the document leaves out (the document itself, its viewer) are
not checked.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from django.core.exceptions import TooManyFieldsSent
from django.http import JsonResponse
from rest_framework.settings import api_settings

from api.errors import shorten

_generating = threading.Lock()


@cache
def generated() -> tuple[Any, dict[str, Any]]:
    """drf-spectacular's generator, after it generated the document, and the document (the
    one ``/api/schema/`` serves; the tests check every response against it too)."""
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator()
    with _generating:  # the generator keeps some state in its module: one at a time
        schema = generator.get_schema(request=None, public=True)
    return generator, schema


@cache
def declared() -> dict[tuple[type, str | None, str], tuple[str, frozenset[str]]]:
    """``(view class, viewset action or None, method) -> (operation, query parameter names)``
    for every operation of the document.

    A write may also carry the parameters of the same path's GET: DRF's browsable API posts
    its forms to the page's own URL (``/api/trades/?ticker=AAPL``), and they are ignored.
    """
    generator, schema = generated()
    operations = []
    for path, _regex, method, callback in generator.endpoints:
        if not path.startswith("/api/"):
            continue  # not TradePulse's API (the benchmarks mount a peer app beside it)
        # The document's path, as the generator writes it ({pk} becomes {id}).
        path = generator.coerce_path(path, method, generator.create_view(callback, method))
        operation = schema["paths"].get(path, {}).get(method.lower())
        if operation is not None:
            names = {p["name"] for p in operation.get("parameters", ()) if p["in"] == "query"}
            operations.append((path, method.lower(), callback, names))
    reads = {path: names for path, method, _, names in operations if method == "get"}
    found = {}
    for path, method, callback, names in operations:
        allowed = names | reads.get(path, set()) | {api_settings.URL_FORMAT_OVERRIDE}
        actions = getattr(callback, "actions", None)
        key = (callback.cls, actions[method] if actions else None, method)
        found[key] = (f"{method.upper()} {path}", frozenset(allowed))
    return found


#: At most this many parameters are named in one answer.
MAX_REPORTED = 10


def refusals(query, operation: str, allowed: frozenset[str]) -> dict[str, list[str]]:
    """What is wrong with ``query`` (a ``QueryDict``) for ``operation``, by parameter (the
    first ``MAX_REPORTED``)."""
    errors: dict[str, list[str]] = {}
    unknown = f"Unknown parameter: {operation} takes {', '.join(sorted(allowed))}."
    for name, values in query.lists():
        if len(errors) == MAX_REPORTED:
            break
        if name not in allowed:
            errors[shorten(name)] = [unknown]
        elif len(values) > 1:
            errors[name] = [f"Given {len(values)} times; give it once."]
    return errors


class DeclaredQueryParamsMiddleware:
    """Answers a query the document does not declare with a 400 naming each parameter."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.META.get("QUERY_STRING") or not request.path_info.startswith("/api/"):
            return None
        view_class = getattr(view_func, "cls", None)
        if view_class is None:
            return None
        method = "get" if request.method == "HEAD" else request.method.lower()
        actions = getattr(view_func, "actions", None)
        entry = declared().get((view_class, actions.get(method) if actions else None, method))
        if entry is None:
            return None
        try:
            query = request.GET
        except TooManyFieldsSent:
            return None  # the API's own handling answers it (400)
        errors = refusals(query, *entry)
        return JsonResponse(errors, status=400) if errors else None
