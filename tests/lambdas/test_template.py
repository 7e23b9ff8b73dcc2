import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import decode

TEMPLATE = Path(__file__).resolve().parents[2] / "lambdas" / "template.yaml"


def cfn_lint(path: Path) -> subprocess.CompletedProcess:
    executable = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    return subprocess.run(
        [executable, str(path)], capture_output=True, text=True, timeout=120, check=False
    )


def test_template_passes_cfn_lint():
    completed = cfn_lint(TEMPLATE)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_cfn_lint_would_catch_a_broken_template(tmp_path):
    broken = tmp_path / "template.yaml"
    broken.write_text(TEMPLATE.read_text().replace("python3.13", "python2.7"))
    assert cfn_lint(broken).returncode != 0


@pytest.fixture(scope="module")
def function():
    template, matches = decode(str(TEMPLATE))
    assert not matches
    return template["Resources"]["TradeAnalysisFunction"]["Properties"]


def test_function_runs_the_packaged_handler_behind_get_trade_analysis(function):
    assert function["Handler"] == "app.handler"
    assert function["CodeUri"] == "../build/trade_analysis.zip"
    (event,) = function["Events"].values()
    assert event["Type"] == "Api"
    assert event["Properties"] == {"Path": "/trade-analysis", "Method": "GET"}


def test_function_may_only_read_day_csvs_and_write_analysis(function):
    (policy,) = function["Policies"]
    grants = {statement["Action"]: statement["Resource"] for statement in policy["Statement"]}
    assert set(grants) == {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}
    _, with_prefix, without_prefix = grants["s3:GetObject"]["Fn::If"]
    assert with_prefix["Fn::Sub"].endswith("/${TradesPrefix}/*/*/*/trades.csv")
    assert without_prefix["Fn::Sub"].endswith("}/*/*/*/trades.csv")
    _, with_prefix, without_prefix = grants["s3:PutObject"]["Fn::If"]
    assert with_prefix["Fn::Sub"].endswith("/${TradesPrefix}/analysis/*")
    assert without_prefix["Fn::Sub"].endswith("}/analysis/*")
