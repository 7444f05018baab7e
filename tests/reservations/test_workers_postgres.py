"""The per-client rate limit through two gunicorn workers in production mode, where a per-process cache leaked.

``WORKERS_TEST_CACHE_URL=locmemcache://`` runs the same test on the per-process cache: it then fails with
"20 of 30 accepted", the finding this test guards against.
"""

import http.client
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from django.db import connection

from reservations.models import Reservation
from tests.factories import StockLineFactory

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(8120, 8130)


def _free_port():
    for port in PORTS:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    pytest.fail("no free port in 8120-8129")


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    env = {**_base_env(), "DJANGO_STATIC_ROOT": str(root)}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return root


def _base_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CACHE_", "DATABASE_"))}
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="workers-test-" + "k3Y" * 16,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        EMAIL_URL="dummymail://",
        RESERVATIONS_LINK_BASE_URL="https://librairies.example",
    )
    return env


@pytest.fixture
def gunicorn(collected_static, db_cache, tmp_path):
    db = connection.settings_dict
    port = _free_port()
    env = {
        **_base_env(),
        "DJANGO_STATIC_ROOT": str(collected_static),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CACHE_URL": os.environ.get("WORKERS_TEST_CACHE_URL", "dbcache://test_portal_cache"),
        "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR",
        "CLIENT_IP_TRUSTED_PROXIES": "1",
        "RESERVATIONS_RATE_LIMIT": "10",
    }
    log = open(tmp_path / "gunicorn.log", "w")
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "portal.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail((tmp_path / "gunicorn.log").read_text())
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def _request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        method, path, body=body, headers={"X-Forwarded-Proto": "https", "Host": f"127.0.0.1:{port}", **(headers or {})}
    )
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read().decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_thirty_simultaneous_submissions_through_two_workers_get_exactly_the_limit(gunicorn):
    line = StockLineFactory(quantity=100)
    path = f"/reservations/new/{line.pk}/"
    status, headers, page = _request(gunicorn, "GET", path)
    assert status == 200, page
    csrf_cookie = re.search(r"csrftoken=([^;]+)", headers["Set-Cookie"]).group(1)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    barrier = threading.Barrier(30)
    statuses = []
    lock = threading.Lock()

    def submit(i):
        body = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": csrf,
                "reader_name": "Lecteur",
                "reader_email": f"r{i}@example.org",
                "reader_phone": "",
                "quantity": "1",
                "note": "",
                "website": "",
                "form_token": f"worker-form-{i}",
            }
        )
        barrier.wait()
        # The left part changes each time (the client wrote it); the proxy appended the real address.
        status, _headers, html = _request(
            gunicorn,
            "POST",
            path,
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={csrf_cookie}",
                "Referer": f"https://127.0.0.1:{gunicorn}{path}",
                "X-Forwarded-For": f"10.1.{i}.9, 203.0.113.50",
            },
        )
        with lock:
            statuses.append(status if status != 400 or "Trop de réservations" in html else f"400 {html[:200]}")

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses, key=str) == [302] * 10 + [400] * 20, f"{statuses.count(302)} of 30 accepted"
    assert Reservation.objects.count() == 10
