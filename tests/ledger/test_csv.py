import csv
import io

import pytest
from django.core.management import CommandError, call_command

from ledger.models import Trade
from tests.ledger.helpers import add_trade


def download(api, **params):
    response = api.get("/api/trades/", params, **params.pop("headers", {}))
    assert response.status_code == 200
    return response, b"".join(response.streaming_content).decode()


def test_csv_download_with_format_param_honours_filters(api, user):
    add_trade(user, ticker="AAPL", price="0.1", timestamp="2025-01-15T10:00:00Z")
    add_trade(user, ticker="MSFT", timestamp="2025-01-15T11:00:00Z")
    response = api.get("/api/trades/", {"format": "csv", "ticker": "aapl"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["ticker"], r["price"], r["timestamp"]) for r in rows] == [
        ("AAPL", "0.1", "2025-01-15T10:00:00.000000Z")
    ]


def test_csv_download_with_accept_header_is_not_paginated(api, user):
    for i in range(120):
        add_trade(user, price=str(i + 1))
    response = api.get("/api/trades/", HTTP_ACCEPT="text/csv")
    text = b"".join(response.streaming_content).decode()
    assert len(text.strip().splitlines()) == 121


def write(tmp_path, text, name="trades.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_import_stores_rows_for_the_user(tmp_path, user):
    path = write(
        tmp_path,
        "ticker,side,price,quantity,timestamp\n"
        "aapl,BUY,189.25,10,2025-01-20T14:30:00Z\n"
        "brk.b,sell,0.1,123456789.123456,\n",
    )
    out = io.StringIO()
    call_command("import_trades", path, "--user", "alice", stdout=out)
    assert "Imported 2 trades" in out.getvalue()
    trades = list(Trade.objects.filter(owner=user).order_by("id"))
    assert [(t.ticker, t.side, t.source) for t in trades] == [
        ("AAPL", "buy", "import"),
        ("BRK.B", "sell", "import"),
    ]
    assert str(trades[1].quantity.normalize()) == "123456789.123456"


def test_import_is_all_or_nothing_and_reports_bad_lines(tmp_path, user):
    add_trade(user)
    path = write(
        tmp_path,
        "ticker,side,price,quantity\nAAPL,buy,1,1\nAAPL,hold,1,1\nMSFT,buy,-2,1\nMSFT,buy,2,1\n",
    )
    with pytest.raises(CommandError) as excinfo:
        call_command("import_trades", path, "--user", "alice")
    message = str(excinfo.value)
    assert "line 3" in message and "side" in message
    assert "line 4" in message and "price" in message
    assert "nothing imported" in message
    assert Trade.objects.count() == 1


def test_import_refuses_missing_columns_and_unknown_users(tmp_path, user):
    path = write(tmp_path, "ticker,side,price\nAAPL,buy,1\n")
    with pytest.raises(CommandError, match="quantity"):
        call_command("import_trades", path, "--user", "alice")
    with pytest.raises(CommandError, match="does not exist"):
        call_command("import_trades", path, "--user", "nobody")
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_trades", str(tmp_path / "missing.csv"), "--user", "alice")


def test_downloaded_csv_imports_back(api, user, other_user, tmp_path):
    add_trade(user, ticker="AAPL", price="12.5", timestamp="2025-01-15T10:00:00Z")
    _, text = download(api, format="csv")
    path = write(tmp_path, text)
    call_command("import_trades", path, "--user", "bob", "--no-progress")
    copy = Trade.objects.get(owner=other_user)
    assert (copy.ticker, str(copy.price.normalize()), copy.timestamp.isoformat()) == (
        "AAPL",
        "12.5",
        "2025-01-15T10:00:00+00:00",
    )


def test_csv_download_escapes_text_a_spreadsheet_would_run(api, user):
    # The admin stores a ticker as typed (upper-cased); the API's ticker rule is not applied.
    add_trade(user, ticker="=HYPERLINK(1)", price="2.5", timestamp="2025-01-15T10:00:00Z")
    _, text = download(api, format="csv")
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["ticker"] == "'=HYPERLINK(1)"
    assert row["price"] == "2.5"


def test_csv_renderer_escapes_error_cells():
    from api.renderers import CSVRenderer

    body = CSVRenderer().render({"side": ["-1+1 is not a side"], "@x": "+y"}).decode()
    assert body.splitlines() == ["field,message", "side,'-1+1 is not a side", "'@x,'+y"]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.5", "-12.5"),
        ("+3", "+3"),
        ("AAPL", "AAPL"),
        ("", ""),
        (7, 7),
        (None, None),
    ],
)
def test_escape_cell(value, written):
    from tradepulse.csvcells import escape_cell

    assert escape_cell(value) == written
