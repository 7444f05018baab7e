import base64
import json
from decimal import Decimal

import jsonschema
import pytest
from django.urls import reverse
from openapi_spec_validator import validate as validate_openapi

from bookshops.models import ApiToken
from bookshops.tokens import api_token_create, api_token_revoke
from catalogue.models import StockImport, StockLine
from tests.factories import ShopFactory, StockLineFactory, make_isbn

pytestmark = pytest.mark.django_db
ETRANGER, PESTE, ALIENOR = "9782070368228", "9782070360246", "9782253004639"
SIRET = "73282932000074"


@pytest.fixture
def shop():
    return ShopFactory(slug="mollat", siret=SIRET)


@pytest.fixture
def token(shop):
    return api_token_create(shop=shop, name="Caisse")[1]


def stock_url(slug="mollat", query=""):
    return reverse("api:shop-stock", kwargs={"slug": slug}) + query


def send(client, method, url, body, content_type="text/csv", token=None, auth=None):
    headers = {}
    if auth is not None:
        headers["Authorization"] = auth
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if isinstance(body, dict):
        body = json.dumps(body)
    return getattr(client, method.lower())(url, data=body, content_type=content_type, headers=headers)


def quantities(shop):
    return dict(StockLine.objects.filter(shop=shop).values_list("book__isbn", "quantity"))


def csv_body(rows, header="EAN;Qté;Prix TTC"):
    return "\r\n".join([header] + [";".join(str(c) for c in row) for row in rows]) + "\r\n"


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == code and body["message"]
    return body


# --- PUT: snapshot ---------------------------------------------------------------


def test_put_csv_replaces_the_stock_and_answers_counts(client, shop, token):
    StockLineFactory(shop=shop, book__isbn=ETRANGER, quantity=5, held=2)
    StockLineFactory(shop=shop, book__isbn=ALIENOR, quantity=1)
    response = send(client, "PUT", stock_url(), csv_body([[ETRANGER, 6, "8,30"], [PESTE, 2, "9,90"]]), token=token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "applied"
    assert body["counts"] == {
        "rows_read": 2,
        "created": 1,
        "updated": 1,
        "unchanged": 0,
        "zeroed": 1,
        "rejected": 0,
        "books_created": 1,
    }
    assert (body["errors"], body["warnings"]) == ([], [])
    assert quantities(shop) == {ETRANGER: 6, PESTE: 2, ALIENOR: 0}
    assert StockLine.objects.get(shop=shop, book__isbn=ETRANGER).held == 2
    record = StockImport.objects.get(pk=body["import_id"])
    assert (record.shop, record.channel, record.status) == (shop, StockImport.Channel.API, StockImport.Status.APPLIED)


def test_put_json_uses_the_same_rules_and_reports_by_index(client, shop, token):
    payload = {
        "stocks": [
            {"ref": ETRANGER, "quantity": 3, "price": 12.5},
            {"ref": "978-2-07-036024-6", "quantity": "2"},
            {"ref": "9782070368229", "quantity": 1},
            {"ref": ALIENOR, "quantity": 1, "price": "abc", "title": "Aliénor\nd'Aquitaine"},
            {"ref": make_isbn(1), "quantity": 1},
            {"ref": make_isbn(2), "quantity": 1},
            {"ref": make_isbn(3), "quantity": 1},
            {"ref": make_isbn(4), "quantity": 1},
            {"ref": make_isbn(5), "quantity": 1},
            {"ref": make_isbn(6), "quantity": 1},
        ]
    }
    response = send(client, "PUT", stock_url(), payload, content_type="application/json", token=token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [(e["index"], e["line"], e["value"]) for e in body["errors"]] == [(2, 4, "9782070368229")]
    assert "clé de contrôle" in body["errors"][0]["error"]
    assert [w["index"] for w in body["warnings"]] == [3]
    assert quantities(shop)[PESTE] == 2
    line = StockLine.objects.get(shop=shop, book__isbn=ETRANGER)
    assert (line.quantity, line.price) == (3, Decimal("12.50"))
    assert StockLine.objects.get(shop=shop, book__isbn=ALIENOR).book.title == "Aliénor d'Aquitaine"


def test_refused_snapshot_answers_422_and_keeps_the_stock(client, shop, token):
    for n in range(10):
        StockLineFactory(shop=shop, book__isbn=make_isbn(n), quantity=2)
    before = quantities(shop)
    response = send(client, "PUT", stock_url(), csv_body([[make_isbn(0), 1]]), token=token)
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == "refused" and "zéro" in body["message"]
    assert quantities(shop) == before
    assert StockImport.objects.get(pk=body["import_id"]).status == StockImport.Status.REFUSED
    forced = send(client, "PUT", stock_url(query="?force=true"), csv_body([[make_isbn(0), 1]]), token=token)
    assert forced.status_code == 200 and forced.json()["counts"]["zeroed"] == 9


def test_unreadable_file_answers_422_with_the_reason(client, shop, token):
    StockLineFactory(shop=shop, book__isbn=ETRANGER, quantity=2)
    response = send(client, "PUT", stock_url(), "Titre;Auteur\r\nL'Étranger;Camus\r\n", token=token)
    assert response.status_code == 422
    assert "EAN" in response.json()["message"]
    assert quantities(shop) == {ETRANGER: 2}


# --- PATCH: a few lines ------------------------------------------------------------


def test_patch_json_changes_only_the_lines_sent(client, shop, token):
    StockLineFactory(shop=shop, book__isbn=ETRANGER, quantity=5, price=Decimal("8.30"))
    StockLineFactory(shop=shop, book__isbn=ALIENOR, quantity=1)
    untouched_at = StockLine.objects.get(shop=shop, book__isbn=ALIENOR).changed_at
    payload = {"stocks": [{"ref": ETRANGER, "quantity": 0}, {"ref": PESTE, "quantity": 4, "price": 9.9}]}
    response = send(client, "PATCH", stock_url(), payload, content_type="application/json", token=token)
    assert response.status_code == 200, response.content
    assert response.json()["counts"]["zeroed"] == 0
    assert quantities(shop) == {ETRANGER: 0, PESTE: 4, ALIENOR: 1}
    assert StockLine.objects.get(shop=shop, book__isbn=ETRANGER).price == Decimal("8.30")  # no price: kept
    assert StockLine.objects.get(shop=shop, book__isbn=ALIENOR).changed_at == untouched_at


def test_patch_counts_lines_sent_unchanged(client, shop, token):
    StockLineFactory(shop=shop, book__isbn=ETRANGER, quantity=5, price=Decimal("8.30"))
    StockLineFactory(shop=shop, book__isbn=ALIENOR, quantity=1)
    response = send(client, "PATCH", stock_url(), csv_body([[ETRANGER, 5, "8,30"]]), token=token)
    assert response.json()["counts"] == {
        "rows_read": 1,
        "created": 0,
        "updated": 0,
        "unchanged": 1,
        "zeroed": 0,
        "rejected": 0,
        "books_created": 0,
    }


def test_patch_csv(client, shop, token):
    StockLineFactory(shop=shop, book__isbn=ALIENOR, quantity=1)
    response = send(
        client, "PATCH", stock_url(), csv_body([[PESTE, 2, ""]]), content_type="text/csv; charset=utf-8", token=token
    )
    assert response.status_code == 200
    assert quantities(shop) == {PESTE: 2, ALIENOR: 1}


# --- authentication and scoping ------------------------------------------------------


def test_basic_forms_of_the_token_are_accepted(client, shop, token):
    raw_basic = send(client, "PATCH", stock_url(), csv_body([[PESTE, 1]]), auth=f"Basic {token}")
    assert raw_basic.status_code == 200
    encoded = base64.b64encode(f"caisse:{token}".encode()).decode()
    assert send(client, "PATCH", stock_url(), csv_body([[PESTE, 2]]), auth=f"Basic {encoded}").status_code == 200
    assert quantities(shop) == {PESTE: 2}
    assert ApiToken.objects.get(shop=shop).last_used_at is not None


@pytest.mark.parametrize("auth", [None, "", "Bearer", "Bearer lr_wrong", "Token {token}", "Basic bm9wZTpub3Bl"])
def test_missing_or_invalid_token_is_401_and_changes_nothing(client, shop, token, auth):
    StockLineFactory(shop=shop, book__isbn=ETRANGER, quantity=2)
    headers = {} if auth is None else {"Authorization": auth.format(token=token)}
    response = client.put(stock_url(), data=csv_body([[PESTE, 1]]), content_type="text/csv", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert "Bearer" in response["WWW-Authenticate"] and "Basic" in response["WWW-Authenticate"]
    assert quantities(shop) == {ETRANGER: 2}
    assert not StockImport.objects.exists()


def test_an_inactive_shops_token_is_refused_and_writes_nothing(client, shop, token):
    StockLineFactory(shop=shop, book__isbn=PESTE, quantity=4)
    shop.is_active = False
    shop.save()
    for method, url, body in (
        ("PATCH", stock_url(), csv_body([[PESTE, 0]])),
        ("PUT", stock_url(), csv_body([[ETRANGER, 9]])),
    ):
        body = assert_error(send(client, method, url, body, token=token), 403, "shop_inactive")
        assert "mollat" in body["message"] and "plus membre active" in body["message"]
    assert quantities(shop) == {PESTE: 4}
    assert not StockImport.objects.exists()
    shop.is_active = True
    shop.save()
    assert send(client, "PATCH", stock_url(), csv_body([[PESTE, 0]]), token=token).status_code == 200


def test_revoked_token_is_401(client, shop, token):
    api_token_revoke(token=ApiToken.objects.get(shop=shop))
    assert_error(send(client, "PATCH", stock_url(), csv_body([[PESTE, 1]]), token=token), 401, "unauthorized")
    assert quantities(shop) == {}


def test_a_token_works_only_for_its_own_shop(client, shop, token):
    other = ShopFactory(slug="georges")
    StockLineFactory(shop=other, book__isbn=ETRANGER, quantity=2)
    for method in ("PUT", "PATCH"):
        response = send(client, method, stock_url("georges"), csv_body([[PESTE, 1]]), token=token)
        assert_error(response, 403, "forbidden")
    assert quantities(other) == {ETRANGER: 2} and quantities(shop) == {}
    assert not StockImport.objects.exists()


def test_unknown_shop_is_404(client, token):
    assert_error(send(client, "PUT", stock_url("nulle-part"), csv_body([[PESTE, 1]]), token=token), 404, "not_found")


# --- bad requests ----------------------------------------------------------------------


def test_oversized_body_is_413_and_changes_nothing(client, shop, token, settings):
    settings.STOCK_FILE_MAX_BYTES = 100
    body = csv_body([[ETRANGER, 1]] * 10)
    assert_error(send(client, "PUT", stock_url(), body, token=token), 413, "payload_too_large")
    assert quantities(shop) == {} and not StockImport.objects.exists()
    assert send(client, "PUT", stock_url(), csv_body([[ETRANGER, 1]]), token=token).status_code == 200


@pytest.mark.parametrize("content_type", ["application/xml", "application/octet-stream", ""])
def test_unsupported_content_type_is_415(client, shop, token, content_type):
    response = send(client, "PUT", stock_url(), csv_body([[PESTE, 1]]), content_type=content_type, token=token)
    assert_error(response, 415, "unsupported_media_type")
    assert quantities(shop) == {}


@pytest.mark.parametrize(
    "body",
    [
        '{"stocks": [',
        "[1, 2]",
        '{"stock": []}',
        '{"stocks": {}}',
        '{"stocks": [3]}',
        '{"stocks": [{}]}',
        '{"stocks": [{"ref": ["x"], "quantity": 1}]}',
        "\xff",
    ],
)
def test_malformed_json_is_400_and_changes_nothing(client, shop, token, body):
    StockLineFactory(shop=shop, book__isbn=ETRANGER, quantity=2)
    response = send(client, "PATCH", stock_url(), body, content_type="application/json", token=token)
    assert_error(response, 400, "malformed_json")
    assert quantities(shop) == {ETRANGER: 2} and not StockImport.objects.exists()


def test_bad_force_parameter_is_400(client, shop, token):
    assert_error(
        send(client, "PUT", stock_url(query="?force=peut-etre"), csv_body([[PESTE, 1]]), token=token),
        400,
        "bad_parameter",
    )


@pytest.mark.parametrize(
    "method, url",
    [
        ("GET", stock_url()),
        ("POST", stock_url()),
        ("DELETE", stock_url()),
        ("POST", "/api/v1/openapi.json"),
    ],
)
def test_wrong_method_is_405_with_allow(client, shop, token, method, url):
    response = getattr(client, method.lower())(url, headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"]


# --- the OpenAPI document is true ---------------------------------------------------------


def _resolve(node, document):
    if isinstance(node, dict):
        if "$ref" in node:
            target = document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return _resolve(target, document)
        return {key: _resolve(value, document) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item, document) for item in node]
    return node


def _check_documented(response, operation, document):
    documented = operation["responses"]
    assert str(response.status_code) in documented, (response.status_code, response.content)
    content = documented[str(response.status_code)].get("content", {})
    if "application/json" in content:
        schema = _resolve(content["application/json"]["schema"], document)
        jsonschema.validate(response.json(), schema, cls=jsonschema.Draft202012Validator)


def test_openapi_document_is_valid_and_every_operation_answers_as_documented(client, shop, token):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate_openapi(document)
    StockLineFactory(shop=shop, book__isbn=ETRANGER, quantity=2)
    earlier = send(client, "PATCH", stock_url(), csv_body([[ETRANGER, 2]]), token=token).json()["import_id"]
    values = {"slug": shop.slug, "import_id": earlier}
    calls = 0
    for path, item in document["paths"].items():
        url = "/api/v1" + path.format(**values)
        for method in ("get", "put", "patch", "post", "delete"):
            operation = item.get(method)
            if operation is None:
                continue
            bodies = operation.get("requestBody", {}).get("content", {"": {"example": ""}})
            for content_type, media in bodies.items():
                example = media["example"]
                data = json.dumps(example) if isinstance(example, dict) else example
                for headers in ({"Authorization": f"Bearer {token}"}, {}):
                    answer = client.generic(method.upper(), url, data=data, content_type=content_type, headers=headers)
                    _check_documented(answer, operation, document)
                    secured = operation.get("security", document["security"])
                    assert answer.status_code == (200 if headers or not secured else 401)
                    calls += 1
    assert calls == 12
    assert StockImport.objects.filter(channel=StockImport.Channel.API, status=StockImport.Status.APPLIED).count() == 5


def test_trailing_slash_is_tolerated_and_unknown_api_paths_answer_json(client, shop, token):
    assert send(client, "PATCH", stock_url() + "/", csv_body([[PESTE, 1]]), token=token).status_code == 200
    assert_error(client.get("/api/v1/passculture/" + SIRET), 404, "not_found")  # the old pull endpoint is gone
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
