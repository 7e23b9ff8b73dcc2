"""What every page view shares: form input as a plain dict, errors as field -> messages."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator

PAGE_SIZE = 50


def form_data(request, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The POSTed form as ``{name: value}`` (the last value of a repeated name), stripped;
    only ``fields`` when given, and empty values left out so the services' defaults apply."""
    data = {}
    for name, value in request.POST.items():
        if name == "csrfmiddlewaretoken" or (fields is not None and name not in fields):
            continue
        value = value.strip()
        if value != "":
            data[name] = value
    return data


def page_of(items, request, size: int = PAGE_SIZE):
    """One page of ``items`` by the ``page`` query parameter (a bad number is the first page,
    past the end is the last)."""
    return Paginator(items, size).get_page(request.GET.get("page"))


def query_without_page(request) -> str:
    """The current filters as a query string, for next/previous links and the CSV link."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
