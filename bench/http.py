"""The ledger over real HTTP: TradePulse's served processes beside the plain-DRF peer.

Ours: ``config.asgi:application`` under ``make run``'s server (uvicorn, one process) and under
the scaled mode (WEB_CONCURRENCY=2 web worker processes with the Redis channel layer and cache,
on a private redis-server). The peer: ``bench/ledger_peer.py`` (a ``ModelViewSet``,
django-filter, page-number pagination, DRF's stock token authentication and throttles) served
by gunicorn with the same number of sync worker processes and the same environment. Both on
the same PostgreSQL table, load from separate processes:

- single POST/s: wrk, one trade per request, 16 connections;
- filtered list: wrk, 100 pages at random depths (ticker + date range; ours by cursor, the
  peer by page number, the same rows), 16 connections: req/s, p50, p99;
- bulk: one client posting 10,000 trades per request to ``/api/trades/bulk/``; the peer
  2,000 per request to its list route (``many=True``, saved item by item): trades/s.

Ours and the peer are interleaved run by run; the load average is recorded around each run.

    .venv/bin/python bench/http.py                            # 1M rows, both modes
    .venv/bin/python bench/http.py --rows 1000000,10000000    # then the list again at 10M
    .venv/bin/python bench/http.py --quick                    # 50k rows, 3 s runs

Needs wrk, redis-server and PostgreSQL (BENCH_POSTGRES_URL; a scratch database
``bench_http_<pid>`` is created and dropped).
"""

from __future__ import annotations

if __name__ == "http":
    # A script run as ``python bench/<name>.py`` has bench/ first on sys.path, where this file
    # shadows the standard library's ``http`` package (urllib, Django and boto3 import it).
    # Load the standard one in this module's place; the import system returns it.
    import importlib as _importlib
    import os as _os
    import sys as _sys

    _here = _os.path.dirname(_os.path.abspath(__file__))
    _saved = list(_sys.path)
    _sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _here]
    del _sys.modules["http"]
    try:
        _importlib.import_module("http")
    finally:
        _sys.path[:] = _saved
elif __name__ == "__main__":
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from bench.http_ledger import main

    raise SystemExit(main())
