"""Build the trade-analysis Lambda package, ``build/trade_analysis.zip``, reproducibly.

The zip holds the handler module(s) of ``lambdas/trade_analysis`` at its root (handler
``app.handler``) and the ``tradepulse.analysis`` package under ``tradepulse/analysis`` with
``tradepulse/timeutil.py`` and a minimal ``tradepulse/__init__.py``, so ``import tradepulse.analysis`` means the same inside and
outside the zip. It needs nothing beyond the standard library and the runtime's boto3.

The same sources always give the same bytes: entries are sorted, timestamps and permissions
fixed, and compression settings pinned.

    python lambdas/build.py [--output build/trade_analysis.zip]
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
HANDLER_DIR = REPO_ROOT / "lambdas" / "trade_analysis"
ENGINE_DIR = REPO_ROOT / "tradepulse"
ANALYSIS_DIR = ENGINE_DIR / "analysis"
DEFAULT_OUTPUT = REPO_ROOT / "build" / "trade_analysis.zip"

# The engine's own `tradepulse/__init__.py` may grow imports the Lambda does not ship.
PACKAGE_INIT = b'"""TradePulse engine (the subset packaged with the trade-analysis Lambda)."""\n'
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644 << 16


def _engine_modules_imported(sources: list[bytes]) -> set[str]:
    """Top-level engine modules (``tradepulse/<name>.py``) that ``sources`` import, followed
    transitively, so the package ships what the analysis needs and nothing else."""
    found: set[str] = set()
    pending = list(sources)
    while pending:
        tree = ast.parse(pending.pop())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[0] == "tradepulse" and len(parts) == 2 and parts[1] not in found:
                    module = ENGINE_DIR / f"{parts[1]}.py"
                    if module.is_file():
                        found.add(parts[1])
                        pending.append(module.read_bytes())
    return found


def package_files() -> dict[str, bytes]:
    """Archive name -> content of every file in the package."""
    files: dict[str, bytes] = {"tradepulse/__init__.py": PACKAGE_INIT}
    for source in sorted(HANDLER_DIR.glob("*.py")):
        if source.name != "__init__.py":
            files[source.name] = source.read_bytes()
    for source in sorted(ANALYSIS_DIR.glob("*.py")):
        files[f"tradepulse/analysis/{source.name}"] = source.read_bytes()
    for name in sorted(_engine_modules_imported(list(files.values()))):
        files[f"tradepulse/{name}.py"] = (ENGINE_DIR / f"{name}.py").read_bytes()
    return files


def build(output: Path = DEFAULT_OUTPUT) -> Path:
    """Write the package to ``output`` (replacing it) and return its path."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name, content in sorted(package_files().items()):
            entry = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = FILE_MODE
            entry.create_system = 3  # Unix, so the mode above is honoured everywhere
            archive.writestr(entry, content, compresslevel=9)
    partial.replace(output)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="zip file to write")
    options = parser.parse_args(argv)
    path = build(options.output)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"{path}  {path.stat().st_size} bytes  sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
