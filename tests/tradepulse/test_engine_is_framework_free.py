import pkgutil
import subprocess
import sys
from pathlib import Path

import tradepulse

ROOT = Path(__file__).resolve().parents[2]


def test_no_engine_module_imports_django():
    modules = sorted(
        m.name
        for m in pkgutil.walk_packages(tradepulse.__path__, "tradepulse.")
        if not m.name.endswith("__main__")
    )
    assert "tradepulse.trades" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
