"""Every hostile or broken input gets a clear 4xx or a refusal in the import's report, and changes nothing.

Truncated and chunked bodies go through a real server thread (``live_server``)
and a raw socket: the test client cannot send fewer bytes than it declares.
"""

import io
import json
import socket
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from bookshops.tokens import api_token_create
from catalogue.models import Book, StockImport, StockLine
from tests.factories import ShopFactory, StockLineFactory, UserFactory, reserve, staff_member

ETRANGER, PESTE, ALIENOR = "9782070368228", "9782070360246", "9782253004639"


def held_matches_reservations():
    """The invariant every case must leave intact: held == copies of the line's active reservations."""
    from reservations.models import Reservation

    for line in StockLine.objects.all():
        active = Reservation.objects.active().filter(shop_id=line.shop_id, book_id=line.book_id)
        assert line.held == sum(r.quantity for r in active), line
    return True


@pytest.fixture
def shop(db):
    shop = ShopFactory(slug="mollat")
    line = StockLineFactory(shop=shop, book__isbn=ETRANGER, quantity=5)
    StockLineFactory(shop=shop, book__isbn=ALIENOR, quantity=2)
    reserve(line, quantity=2)
    return shop


@pytest.fixture
def token(shop):
    return api_token_create(shop=shop, name="Caisse")[1]


def quantities(shop):
    return dict(StockLine.objects.filter(shop=shop).values_list("book__isbn", "quantity"))


def stock_url(slug="mollat"):
    return reverse("api:shop-stock", kwargs={"slug": slug})


def put(client, body, token, content_type="text/csv", **extra):
    # CONTENT_TYPE again: the test client leaves it out when ``data`` is empty (the body then comes in ``extra``).
    return client.put(
        stock_url(),
        data=body,
        content_type=content_type,
        headers={"Authorization": f"Bearer {token}"},
        **{"CONTENT_TYPE": content_type, **extra},
    )


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == code and response.json()["message"]
    return response.json()


BEFORE = {ETRANGER: 5, ALIENOR: 2}


# --- bodies, through a real server ------------------------------------------------------------------


def raw_request(live_server, head: bytes, body: bytes) -> tuple[int, dict]:
    """Send ``head`` and ``body`` on a raw socket, close our side, read the answer."""
    address = urlsplit(live_server.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _sep, rest = answer.partition(b"\r\n")
    payload = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(payload)


def csv_file(n: int) -> bytes:
    from tests.factories import make_isbn

    return ("EAN;Qté\r\n" + "".join(f"{make_isbn(i)};{i % 7 + 1}\r\n" for i in range(n))).encode()


@pytest.mark.django_db(transaction=True)
def test_cut_off_body_is_400_and_nothing_is_imported(live_server, shop, token):
    body = csv_file(300)
    head = (
        f"PUT /api/v1/shops/mollat/stock HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: text/csv\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    status, answer = raw_request(live_server, head, body[: len(body) * 7 // 10])
    assert status == 400 and answer["error"] == "incomplete_body"
    assert f"sur les {len(body)} annoncés" in answer["message"]
    assert quantities(shop) == BEFORE and not StockImport.objects.exists()
    assert held_matches_reservations()


@pytest.mark.django_db(transaction=True)
def test_chunked_body_on_a_server_that_does_not_decode_it_is_411(live_server, shop, token):
    body = csv_file(3)
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    head = (
        f"PUT /api/v1/shops/mollat/stock HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    status, answer = raw_request(live_server, head, chunked)
    assert status == 411 and answer["error"] == "length_required" and "Content-Length" in answer["message"]
    assert quantities(shop) == BEFORE and not StockImport.objects.exists()
    assert held_matches_reservations()


def test_chunked_body_is_read_to_its_end_when_the_server_decodes_it(client, shop, token):
    # What gunicorn hands over for a chunked body: no CONTENT_LENGTH, the decoded stream, wsgi.input_terminated.
    body = f"EAN;Qté\r\n{ETRANGER};4\r\n{ALIENOR};2\r\n{PESTE};1\r\n".encode()
    response = put(
        client,
        b"",
        token,
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )
    assert response.status_code == 200, response.content
    assert quantities(shop) == {ETRANGER: 4, ALIENOR: 2, PESTE: 1}
    assert held_matches_reservations()


def test_body_longer_than_its_declared_length_is_400(client, shop, token):
    body = f"EAN;Qté\r\n{ETRANGER};4\r\n{ALIENOR};2\r\n".encode()
    response = put(
        client,
        b"",
        token,
        CONTENT_LENGTH=str(len(body) - 8),
        **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )
    assert_error(response, 400, "body_too_long")
    assert quantities(shop) == BEFORE and not StockImport.objects.exists()


def test_chunked_body_beyond_the_limit_is_413_while_reading(client, shop, token, settings):
    settings.STOCK_FILE_MAX_BYTES = 1000
    endless = io.BytesIO(csv_file(200))
    response = put(
        client,
        b"",
        token,
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": endless, "wsgi.input_terminated": True},
    )
    assert_error(response, 413, "payload_too_large")
    assert endless.tell() < 200_000 and quantities(shop) == BEFORE


def test_bad_content_length_is_400(client, shop, token):
    assert_error(put(client, csv_file(2), token, CONTENT_LENGTH="12abc"), 400, "bad_request")


# --- JSON --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '{"stocks": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "[" * 100_000 + "]" * 100_000,
        '{"other": ' + "[" * 100_000 + "]" * 100_000 + ', "stocks": []}',
        '{"stocks": [{"ref": ' + "[" * 100_000 + "]" * 100_000 + "}]}",
        '{"stocks": [{"ref": "9782070368228", "quantity": 1, "price": NaN}]}',
    ],
)
def test_deeply_nested_or_invalid_json_is_400(client, shop, token, body):
    response = put(client, body, token, content_type="application/json")
    assert_error(response, 400, "malformed_json")
    assert quantities(shop) == BEFORE and not StockImport.objects.exists()
    assert held_matches_reservations()


def test_a_nul_in_a_json_value_is_400_naming_the_value(client, shop, token):
    body = {"stocks": [{"ref": ALIENOR, "quantity": 3}, {"ref": ETRANGER, "quantity": "2\u0000"}]}
    response = client.patch(
        stock_url(),
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    answer = assert_error(response, 400, "malformed_json")
    assert "stocks[1].quantity" in answer["message"] and "nul" in answer["message"]
    assert quantities(shop) == BEFORE and not StockImport.objects.exists()


def test_undecodable_json_says_so_in_plain_words(client, shop, token):
    response = put(client, b'{"stocks": [{"ref": "97820703\xff68228", "quantity": 2}]}', token, "application/json")
    message = assert_error(response, 400, "malformed_json")["message"]
    assert message.startswith("JSON illisible : ") and "b'" not in message and "\n" not in message
    assert quantities(shop) == BEFORE


def test_a_change_whose_every_line_is_unreadable_is_refused_not_applied(client, shop, token):
    body = {"stocks": [{"ref": ETRANGER, "quantity": -1}]}
    response = client.patch(
        stock_url(),
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    answer = response.json()
    assert response.status_code == 422 and answer["status"] == "refused", answer
    assert answer["errors"][0]["index"] == 0 and "négative" in answer["errors"][0]["error"]
    assert quantities(shop) == BEFORE
    assert held_matches_reservations()


def test_json_numbers_beyond_any_column_are_reported_not_crashed(client, shop, token):
    body = {"stocks": [{"ref": ETRANGER, "quantity": 5, "price": 1e300}, {"ref": ALIENOR, "quantity": 10**30}]}
    response = put(client, json.dumps(body), token, content_type="application/json")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert [e["index"] for e in answer["errors"]] == [1] and "price" in answer["problem_counts"]
    assert quantities(shop) == BEFORE  # the unreadable row keeps its line; 5 stays 5
    assert held_matches_reservations()


# --- encodings and bytes in files ----------------------------------------------------------------------


def test_utf16_with_an_odd_byte_count_is_refused_in_the_report(client, shop, token):
    body = "\ufeffEAN;Qté\r\n9782070368228;3\r\n".encode("utf-16-le") + b"\x00"
    body = b"\xff\xfe" + body[2:] if body.startswith(b"\xff\xfe") else b"\xff\xfe" + body
    response = put(client, body, token)
    answer = response.json()
    assert response.status_code == 422 and answer["status"] == "refused" and "UTF-16" in answer["message"]
    assert quantities(shop) == BEFORE
    record = StockImport.objects.get(pk=answer["import_id"])
    assert record.file.read() == body, "the refused file is kept"


def test_utf32_file_is_read(client, shop, token):
    body = f"EAN;Qté;Titre\r\n{ETRANGER};5\r\n{ALIENOR};2\r\n{PESTE};3;La Peste\r\n".encode("utf-32")
    response = put(client, body, token)
    assert response.status_code == 200, response.content
    assert quantities(shop) == {ETRANGER: 5, ALIENOR: 2, PESTE: 3}
    assert Book.objects.get(isbn=PESTE).title == "La Peste"


def test_nul_and_control_characters_in_cells_never_reach_the_database(client, shop, token):
    body = (
        f'EAN;Qté;Titre;Auteur\r\n{ETRANGER};5\r\n{ALIENOR};2\r\n{PESTE};3;"La\x00 Peste\r\n\x07suite";"Camus\x1b"\r\n'
    )
    response = put(client, body.encode("utf-16"), token)
    assert response.status_code == 200, response.content
    book = Book.objects.get(isbn=PESTE)
    assert book.title == "La Peste suite" and book.authors[0].name == "Camus"
    # In UTF-8 a NUL byte means it is not a text file at all.
    response = put(client, body.encode(), token)
    assert response.status_code == 422 and "pas un fichier texte" in response.json()["message"]
    assert held_matches_reservations()


def test_titles_are_single_lines_and_reservation_subjects_stay_sendable(
    client, shop, token, mailoutbox, django_capture_on_commit_callbacks
):
    body = (
        f'EAN;Qté;Titre;Éditeur\r\n{ETRANGER};5\r\n{ALIENOR};2\r\n{PESTE};3;"La  Peste\r\nédition\tpoche";" Folio "\r\n'
    )
    assert put(client, body, token).status_code == 200
    book = Book.objects.get(isbn=PESTE)
    assert (book.title, book.publisher) == ("La Peste édition poche", "Folio")
    # A title stored with a line break before this change still gives a one-line subject.
    Book.objects.filter(pk=book.pk).update(title="La Peste\r\nédition poche")
    line = StockLine.objects.get(shop=shop, book=book)
    with django_capture_on_commit_callbacks(execute=True):
        reserve(line, quantity=1)
    to_shop = [m for m in mailoutbox if m.to == [shop.email]]
    assert to_shop and to_shop[0].subject.endswith("La Peste édition poche")
    to_shop[0].message()  # builds the headers: a line break in the subject would raise BadHeaderError
    assert held_matches_reservations()


@pytest.mark.parametrize(
    "price, kept",
    [
        ("NaN", True),
        ("Infinity", True),
        ("999999.999", True),
        ("1e9", True),
        ("-3", True),
        ("12²", True),
        ("999999.99", False),
        ("8,30", False),
    ],
)
def test_prices_are_finite_and_within_the_column(client, shop, token, price, kept):
    StockLine.objects.filter(shop=shop, book__isbn=ETRANGER).update(price="7.50")
    body = f"EAN;Qté;Prix\r\n{ETRANGER};5;{price}\r\n{ALIENOR};2;\r\n"
    response = put(client, body, token)
    assert response.status_code == 200, response.content
    stored = StockLine.objects.get(shop=shop, book__isbn=ETRANGER).price
    warnings = response.json()["warnings"]
    if kept:
        assert str(stored) == "7.50" and warnings and warnings[0]["kind"] == "price"
    else:
        assert stored != 7.5 and not warnings


# --- bounded reports -------------------------------------------------------------------------------------


def test_a_file_of_bad_lines_gives_a_small_report_with_counts_by_kind(
    client, shop, token, settings, django_capture_on_commit_callbacks
):
    settings.STOCK_IMPORT_MAX_REPORTED_PROBLEMS = 50
    body = "EAN;Qté\r\n" + "".join(f"97820703682{i % 100:02d};x\r\n" for i in range(20_000))
    with django_capture_on_commit_callbacks(execute=True):  # bigger than STOCK_IMPORT_INLINE_MAX_BYTES: a task
        response = put(client, body, token)
    assert response.status_code == 202
    response = client.get(response.json()["status_url"], headers={"Authorization": f"Bearer {token}"})
    answer = response.json()
    assert answer["status"] == "refused"
    assert len(response.content) < 30_000
    assert len(answer["errors"]) == 50 and answer["problems_left_out"] == 19_950
    assert answer["counts"]["rejected"] == 20_000 and sum(answer["problem_counts"].values()) == 20_000
    record = StockImport.objects.get(pk=answer["import_id"])
    assert len(record.report) == 50 and record.status == "refused"
    assert quantities(shop) == BEFORE


# --- NUL bytes in addresses and forms, on every page ------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/shops/?departement=%00", "/search/?q=%00", "/?q=a%00b", "/shops/%00/", "/books/978%002070368228/"]
)
def test_nul_in_a_public_address_is_400(client, db, url):
    response = client.get(url)
    assert response.status_code == 400 and "nul" in response.content.decode()


def test_nul_in_admin_filters_and_autocomplete_is_400(client, shop):
    user = staff_member(shop, perms=("catalogue.view_stockline", "catalogue.view_book", "catalogue.view_subject"))
    client.force_login(user)
    assert client.get("/admin/catalogue/stockline/?shop__id__exact=%00").status_code == 400
    assert client.get("/admin/catalogue/stockline/?q=%00").status_code == 400
    response = client.get("/admin/autocomplete/?term=%00&app_label=catalogue&model_name=book&field_name=subjects")
    assert response.status_code == 400
    assert client.get("/admin/catalogue/stockline/").status_code == 200


def test_nul_in_api_query_is_400_json(client, shop, token):
    response = client.put(
        stock_url() + "?force=%00",
        data=csv_file(2),
        content_type="text/csv",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_error(response, 400, "bad_request")
    assert quantities(shop) == BEFORE


@pytest.mark.parametrize("urlencoded", [False, True])
def test_nul_in_a_form_field_is_400_and_a_clean_form_goes_through(client, db, urlencoded):
    from urllib.parse import urlencode

    UserFactory(username="libraire", password="x", is_staff=True)

    def login(username):
        if urlencoded:  # what a browser sends for a form without files
            return client.post(
                "/admin/login/",
                urlencode({"username": username, "password": "x"}),
                content_type="application/x-www-form-urlencoded",
            )
        return client.post("/admin/login/", {"username": username, "password": "x"})

    response = login("libraire\x00")
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    assert login("libraire").status_code == 302 and "_auth_user_id" in client.session


# --- limit -------------------------------------------------------------------------------------------------
