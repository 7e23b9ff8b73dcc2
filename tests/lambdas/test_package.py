import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from lambdas import build

# Runs inside the unpacked package with `python -I`: no PYTHONPATH, no current directory on
# sys.path, and Django made unimportable, as in the Lambda runtime.
RUN_HANDLER = """
import json, sys
package_dir = sys.argv[1]

class RefuseDjango:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "django":
            raise ImportError("the Lambda package must not need Django")
        return None

sys.meta_path.insert(0, RefuseDjango())
sys.path.insert(0, package_dir)

import app
import tradepulse.analysis

response = app.handler({"date": "2025-01-20"}, None)
print(json.dumps({
    "response": response,
    "modules": [app.__file__, tradepulse.analysis.__file__],
    "django_loaded": any(name.split(".")[0] == "django" for name in sys.modules),
}))
"""

CSV = (
    "trade_id,user,ticker,side,price,quantity,timestamp\n"
    "1,alice,AAPL,buy,187.25,10,2025-01-20T14:30:00Z\n"
    "2,bob,AAPL,sell,188.5,4,2025-01-20T15:30:00.250Z\n"
)


def test_build_is_reproducible_and_holds_only_the_handler_analysis_and_what_it_imports(tmp_path):
    first = build.build(tmp_path / "one" / "trade_analysis.zip")
    second = build.build(tmp_path / "two" / "trade_analysis.zip")

    assert first.read_bytes() == second.read_bytes()
    names = zipfile.ZipFile(first).namelist()
    analysis_modules = sorted(
        f"tradepulse/analysis/{path.name}"
        for path in (build.REPO_ROOT / "tradepulse" / "analysis").glob("*.py")
    )
    engine_modules = sorted(
        name for name in names if name.count("/") == 1 and name != "tradepulse/__init__.py"
    )
    # Only top-level engine modules the analysis imports come along (the CSV cell rule, ...),
    # never the backtester, the market feed or anything that needs Django.
    assert engine_modules, "the analysis imports engine modules that must be shipped"
    for name in engine_modules:
        module = name.removeprefix("tradepulse/").removesuffix(".py")
        assert any(
            f"from tradepulse.{module} import" in (build.REPO_ROOT / path).read_text()
            for path in [*analysis_modules, *engine_modules]
        ), f"{name} is shipped but nothing shipped imports it"
    assert sorted(names) == sorted(
        ["app.py", "tradepulse/__init__.py", *analysis_modules, *engine_modules]
    )


def test_packaged_handler_runs_in_a_clean_interpreter(tmp_path, s3_client, s3_bucket):
    package = build.build(tmp_path / "trade_analysis.zip")
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(package).extractall(unpacked)
    s3_client.put_object(Bucket=s3_bucket, Key="2025/01/20/trades.csv", Body=CSV.encode())
    environment = {
        name: value
        for name, value in os.environ.items()
        if name.startswith("AWS_") or name in {"PATH", "HOME", "LANG"}
    }
    environment["TRADES_BUCKET"] = s3_bucket

    completed = subprocess.run(
        [sys.executable, "-I", "-c", RUN_HANDLER, str(unpacked)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["response"] == {"statusCode": 200, "message": "Analysis saved for 2025-01-20"}
    assert all(Path(module).is_relative_to(unpacked) for module in report["modules"])
    assert report["django_loaded"] is False
    saved = json.loads(
        s3_client.get_object(Bucket=s3_bucket, Key="analysis/2025/01/20/analysis.json")[
            "Body"
        ].read()
    )
    assert saved["tickers"]["AAPL"]["vwap"] == "187.60714286"


def test_build_script_writes_the_default_package_path(tmp_path):
    output = tmp_path / "build" / "trade_analysis.zip"
    completed = subprocess.run(
        [sys.executable, str(build.REPO_ROOT / "lambdas" / "build.py"), "--output", str(output)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert output.is_file()
    assert str(output) in completed.stdout
    assert build.DEFAULT_OUTPUT == build.REPO_ROOT / "build" / "trade_analysis.zip"
