"""Security headers on every kind of answer, and the client address behind proxies."""

import subprocess
import sys

import pytest
from django.test import RequestFactory

from portal.clients import client_ip

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/search/?q=x", "/shops/", "/admin/login/", "/api/v1/openapi.json", "/nope/"])
def test_every_answer_carries_a_strict_csp_and_a_permissions_policy(client, path):
    response = client.get(path)
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert policy["img-src"] == "'self' https://tile.openstreetmap.org"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'none'" and policy["form-action"] == "'self'"
    features = dict(part.split("=", 1) for part in response["Permissions-Policy"].split(", "))
    assert features["geolocation"] == "(self)"
    assert features["camera"] == features["microphone"] == features["payment"] == "()"


def test_the_tile_server_in_the_policy_follows_map_tile_url():
    code = "from django.conf import settings; print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'])"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings'; django.setup(); " + code,
        ],
        env={
            "MAP_TILE_URL": "https://tiles.example.org:8443/osm/{z}/{x}/{y}.png",
            "DJANGO_DEBUG": "true",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "'https://tiles.example.org:8443'" in out and "openstreetmap" not in out


def _request(remote="192.0.2.10", **headers):
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


def test_without_a_proxy_header_the_address_is_remote_addr(settings):
    settings.CLIENT_IP_HEADER = ""
    assert client_ip(_request(HTTP_X_FORWARDED_FOR="6.6.6.6")) == "192.0.2.10"


@pytest.mark.parametrize(
    "chain, proxies, expected",
    [
        ("203.0.113.7", 1, "203.0.113.7"),
        ("6.6.6.6, 203.0.113.7", 1, "203.0.113.7"),  # forged left part ignored
        ("6.6.6.6, 7.7.7.7, 203.0.113.7", 1, "203.0.113.7"),
        ("6.6.6.6, 203.0.113.7, 10.0.0.2", 2, "203.0.113.7"),  # two proxies: second from the right
        ("203.0.113.7", 2, "192.0.2.10"),  # shorter than the proxies: not trusted
        ("", 1, "192.0.2.10"),
        ("6.6.6.6, not-an-address", 1, "192.0.2.10"),
        ("6.6.6.6,2001:DB8::1", 1, "2001:db8::1"),
        ("6.6.6.6, , ,203.0.113.7", 1, "203.0.113.7"),
    ],
)
def test_behind_proxies_the_client_is_counted_from_the_right(settings, chain, proxies, expected):
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.CLIENT_IP_TRUSTED_PROXIES = proxies
    assert client_ip(_request(HTTP_X_FORWARDED_FOR=chain)) == expected


def test_the_old_setting_name_still_works():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings'; "
            "django.setup(); from django.conf import settings; print(settings.CLIENT_IP_HEADER)",
        ],
        env={"RESERVATIONS_CLIENT_IP_HEADER": "HTTP_X_REAL_IP", "DJANGO_DEBUG": "true", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "HTTP_X_REAL_IP"
