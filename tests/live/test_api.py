"""GET /api/alerts/ and GET/PUT /api/alert-rules/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from live.models import Alert, AlertRule

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 1, 20, 14, 30, tzinfo=UTC)


def make_alert(user=None, ticker="AAPL", direction="up", at=T0, change=2.5):
    return Alert.objects.create(
        user=user,
        ticker=ticker,
        direction=direction,
        change_pct=change if direction == "up" else -change,
        reference_price=100.0,
        price=100.0 * (1 + (change if direction == "up" else -change) / 100),
        window_seconds=60.0,
        timestamp=at,
    )


def test_alerts_need_authentication(anon):
    assert anon.get("/api/alerts/").status_code == 401


def test_alerts_list_global_and_own_alerts_newest_first(api, user, other_user):
    old = make_alert(at=T0)
    mine = make_alert(user=user, at=T0 + timedelta(minutes=1))
    make_alert(user=other_user, at=T0 + timedelta(minutes=2))
    body = api.get("/api/alerts/").json()
    assert [a["id"] for a in body["results"]] == [mine.id, old.id]
    assert [a["scope"] for a in body["results"]] == ["user", "global"]
    first = body["results"][1]
    assert first["message"] == "📈 Price Spike Alert: AAPL increased by 2.5% in 1 minute!"
    assert first["timestamp"] == "2025-01-20T14:30:00.000000Z"


def test_alerts_filter_by_ticker_direction_and_dates(api):
    make_alert(ticker="AAPL", direction="up", at=T0)
    keep = make_alert(ticker="TSLA", direction="down", at=T0 + timedelta(days=1))
    make_alert(ticker="TSLA", direction="up", at=T0 + timedelta(days=1))
    make_alert(ticker="TSLA", direction="down", at=T0 + timedelta(days=3))
    body = api.get(
        "/api/alerts/",
        {
            "ticker": "tsla",
            "direction": "DOWN",
            "start_date": "2025-01-21",
            "end_date": "2025-01-21",
        },
    ).json()
    assert [a["id"] for a in body["results"]] == [keep.id]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ticker": "not a ticker"}, "ticker"),
        ({"direction": "sideways"}, "direction"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"start_date": "2025-01-22", "end_date": "2025-01-21"}, "end_date"),
        ({"page_size": "0"}, "page_size"),
    ],
)
def test_alerts_bad_filter_is_400_naming_the_parameter(api, params, field):
    response = api.get("/api/alerts/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_alerts_pages_with_a_cursor(api):
    made = [make_alert(at=T0 + timedelta(seconds=i)) for i in range(5)]
    first = api.get("/api/alerts/", {"page_size": 2}).json()
    assert [a["id"] for a in first["results"]] == [made[4].id, made[3].id]
    second = api.get(first["next"]).json()
    assert [a["id"] for a in second["results"]] == [made[2].id, made[1].id]


def test_alert_rules_start_empty_with_the_defaults(api, settings):
    settings.ALERT_THRESHOLD_PCT = 2.0
    settings.ALERT_WINDOW_SECONDS = 60.0
    assert api.get("/api/alert-rules/").json() == {
        "defaults": {"threshold_pct": 2.0, "window_seconds": 60.0},
        "rules": [],
    }


def test_put_alert_rules_replaces_the_whole_list(api, user, other_user):
    AlertRule.objects.create(user=other_user, ticker="AAPL", threshold_pct=3, window_seconds=60)
    first = api.put(
        "/api/alert-rules/",
        {
            "rules": [
                {"ticker": "tsla", "threshold_pct": "5", "window_seconds": 120},
                {"ticker": "AAPL", "threshold_pct": 1.5, "window_seconds": 30},
            ]
        },
        format="json",
    )
    assert first.status_code == 200
    assert first.json()["rules"] == [
        {"ticker": "AAPL", "threshold_pct": "1.50", "window_seconds": 30},
        {"ticker": "TSLA", "threshold_pct": "5.00", "window_seconds": 120},
    ]
    api.put(
        "/api/alert-rules/",
        {"rules": [{"ticker": "MSFT", "threshold_pct": "0.5", "window_seconds": 5}]},
        format="json",
    )
    assert list(AlertRule.objects.filter(user=user).values_list("ticker", flat=True)) == ["MSFT"]
    assert AlertRule.objects.filter(user=other_user).count() == 1
    assert api.put("/api/alert-rules/", {"rules": []}, format="json").json()["rules"] == []
    assert not AlertRule.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"ticker": "AAPL", "threshold_pct": "0", "window_seconds": 60}, "threshold_pct"),
        ({"ticker": "AAPL", "threshold_pct": "50.01", "window_seconds": 60}, "threshold_pct"),
        ({"ticker": "AAPL", "threshold_pct": "abc", "window_seconds": 60}, "threshold_pct"),
        ({"ticker": "AAPL", "threshold_pct": "NaN", "window_seconds": 60}, "threshold_pct"),
        ({"ticker": "AAPL", "threshold_pct": "2", "window_seconds": 4}, "window_seconds"),
        ({"ticker": "AAPL", "threshold_pct": "2", "window_seconds": 3601}, "window_seconds"),
        ({"ticker": "no way!", "threshold_pct": "2", "window_seconds": 60}, "ticker"),
        ({"threshold_pct": "2", "window_seconds": 60}, "ticker"),
    ],
)
def test_put_alert_rules_bad_rule_is_400_naming_index_and_field(api, user, rule, field):
    AlertRule.objects.create(user=user, ticker="KO", threshold_pct=3, window_seconds=60)
    good = {"ticker": "MSFT", "threshold_pct": "2", "window_seconds": 60}
    response = api.put("/api/alert-rules/", {"rules": [good, rule]}, format="json")
    assert response.status_code == 400
    errors = response.json()["rules"]
    assert errors[0]["index"] == 1 and field in errors[0]
    # Nothing changed.
    assert list(AlertRule.objects.filter(user=user).values_list("ticker", flat=True)) == ["KO"]


def test_put_alert_rules_duplicate_ticker_is_400(api):
    rule = {"ticker": "AAPL", "threshold_pct": "2", "window_seconds": 60}
    response = api.put(
        "/api/alert-rules/", {"rules": [rule, {**rule, "ticker": "aapl"}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["rules"][0]["index"] == 1
    assert "Duplicate" in response.json()["rules"][0]["ticker"][0]


def test_put_alert_rules_needs_a_list(api):
    response = api.put("/api/alert-rules/", {"rules": "AAPL"}, format="json")
    assert response.status_code == 400


def test_alert_rules_need_authentication(anon):
    assert anon.get("/api/alert-rules/").status_code == 401
    assert anon.put("/api/alert-rules/", {"rules": []}, format="json").status_code == 401


def test_monitor_page_requires_login(client):
    response = client.get("/web/monitor/")
    assert response.status_code == 302
    assert response["Location"].startswith("/web/login/?next=/web/monitor/")


def test_web_root_redirects_to_the_dashboard(client, user):
    client.force_login(user)
    assert client.get("/web/")["Location"] == "/"
    page = client.get("/web/monitor/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "lightweight-charts.standalone.production.js" in html
    assert 'href="/api/docs/"' in html and "Log out" in html
