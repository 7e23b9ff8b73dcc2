"""The ledger over real HTTP: runs ``bench/http_ledger.py`` (its docstring says what is
measured and how).

    .venv/bin/python bench/http.py                            # 1M rows, both modes
    .venv/bin/python bench/http.py --rows 1000000,10000000    # then the list again at 10M
    .venv/bin/python bench/http.py --quick                    # 50k rows, 3 s runs
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
