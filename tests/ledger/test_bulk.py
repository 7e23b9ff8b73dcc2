from decimal import Decimal

from ledger.models import Trade

URL = "/api/trades/bulk/"


def trade(i=0, **kw):
    return {"ticker": "AAPL", "side": "buy", "price": f"{100 + i}.5", "quantity": "1", **kw}


def test_bulk_stores_every_trade_and_returns_ids(api, user):
    response = api.post(URL, [trade(i) for i in range(50)], format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] == 50
    assert len(body["ids"]) == 50
    stored = dict(Trade.objects.filter(owner=user).values_list("id", "price"))
    # ids[i] is the id of the i-th trade sent.
    assert [stored[i] for i in body["ids"]] == [Decimal(f"{100 + i}.5") for i in range(50)]


def test_bulk_accepts_10000(api, user):
    response = api.post(URL, [trade(i % 100) for i in range(10_000)], format="json")
    assert response.status_code == 201
    assert Trade.objects.filter(owner=user).count() == 10_000


def test_bulk_over_the_limit_is_refused(api):
    response = api.post(URL, [trade()] * 10_001, format="json")
    assert response.status_code == 400
    assert "10,000" in response.json()["non_field_errors"][0]
    assert Trade.objects.count() == 0


def test_one_bad_item_stores_nothing_and_names_index_and_field(api):
    items = [trade(i) for i in range(5)]
    items[3]["price"] = "-1"
    items[4]["side"] = "short"
    response = api.post(URL, items, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors[0]["index"] == 3 and "price" in errors[0]
    assert errors[1]["index"] == 4 and "side" in errors[1]
    assert Trade.objects.count() == 0


def test_bulk_needs_a_non_empty_list(api):
    assert api.post(URL, {"ticker": "AAPL"}, format="json").status_code == 400
    assert api.post(URL, [], format="json").status_code == 400


def test_a_bad_item_after_several_stored_chunks_still_stores_nothing(api):
    items = [trade(i % 50) for i in range(3500)]
    items[2500]["quantity"] = "0"
    items[3400]["ticker"] = "NOT VALID"
    response = api.post(URL, items, format="json")
    assert response.status_code == 400
    assert [e["index"] for e in response.json()["errors"]] == [2500, 3400]
    assert Trade.objects.count() == 0
    again = api.post(URL, [trade(i % 50) for i in range(3500)], format="json")
    assert again.status_code == 201
    assert Trade.objects.count() == 3500
    assert sorted(again.json()["ids"]) == sorted(Trade.objects.values_list("id", flat=True))
