import pytest

from ledger.models import Trade
from tests.ledger.helpers import add_trade


def url(trade_id):
    return f"/api/trades/{trade_id}/"


def test_retrieve(api, user):
    t = add_trade(user, price="10.5")
    body = api.get(url(t.id)).json()
    assert body["id"] == t.id
    assert body["price"] == "10.5"


def test_put_replaces_fields_and_keeps_timestamp_when_omitted(api, user):
    t = add_trade(user, timestamp="2025-01-20T14:30:00Z")
    response = api.put(
        url(t.id), {"ticker": "msft", "side": "sell", "price": "2", "quantity": "3"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["ticker"], body["side"], body["price"], body["quantity"]) == (
        "MSFT",
        "sell",
        "2",
        "3",
    )
    assert body["timestamp"] == "2025-01-20T14:30:00.000000Z"


def test_put_requires_all_fields(api, user):
    t = add_trade(user)
    response = api.put(url(t.id), {"price": "2"}, format="json")
    assert response.status_code == 400
    assert "ticker" in response.json()


def test_patch_changes_only_given_fields_and_bumps_updated_at(api, user):
    t = add_trade(user, price="10", quantity="5")
    response = api.patch(url(t.id), {"quantity": "7.25"}, format="json")
    assert response.status_code == 200
    t2 = Trade.objects.get(pk=t.id)
    assert str(t2.quantity.normalize()) == "7.25"
    assert t2.price == t.price
    assert t2.updated_at > t.updated_at


def test_patch_with_bad_value_changes_nothing(api, user):
    t = add_trade(user, price="10")
    response = api.patch(url(t.id), {"price": "-3"}, format="json")
    assert response.status_code == 400
    assert "price" in response.json()
    assert Trade.objects.get(pk=t.id).price == t.price


def test_delete(api, user):
    t = add_trade(user)
    assert api.delete(url(t.id)).status_code == 204
    assert not Trade.objects.filter(pk=t.id).exists()
    assert api.get(url(t.id)).status_code == 404


@pytest.mark.parametrize(
    "path", ["/api/trades/999999/", "/api/trades/abc/", "/api/trades/" + "9" * 30 + "/"]
)
def test_unknown_ids_are_404(api, path):
    assert api.get(path).status_code == 404


def test_another_users_trade_is_404_on_every_method_and_unchanged(api, other_api, user, other_user):
    theirs = add_trade(other_user, price="50")
    assert api.get(url(theirs.id)).status_code == 404
    assert (
        api.put(
            url(theirs.id),
            {"ticker": "X", "side": "buy", "price": "1", "quantity": "1"},
            format="json",
        ).status_code
        == 404
    )
    assert api.patch(url(theirs.id), {"price": "1"}, format="json").status_code == 404
    assert api.delete(url(theirs.id)).status_code == 404
    assert Trade.objects.get(pk=theirs.id).price == theirs.price
    listed = api.get("/api/trades/").json()["results"]
    assert theirs.id not in [t["id"] for t in listed]
    csv_text = b"".join(api.get("/api/trades/", {"format": "csv"}).streaming_content).decode()
    assert f"\n{theirs.id}," not in csv_text
    assert other_api.get(url(theirs.id)).status_code == 200
