"""The December rush as Locust users: readers, readers who reserve, and point-of-sale programs.

Run by ``bench/rush/run.py`` (which builds the data, starts gunicorn and reads
the results); ``RUSH_FIXTURE`` names the JSON file of ISBNs, lines, shops and
API tokens it wrote. Every request says it came through the TLS proxy
(``X-Forwarded-Proto: https``) and from its own client address
(``X-Forwarded-For``, one address per simulated user, as the proxy appends
it), so the per-address reservation limit applies to each user as in
production instead of refusing the whole crowd from 127.0.0.1.
"""

import itertools
import json
import os
import random
import re
import uuid

from locust import HttpUser, between, events, task
from requests.cookies import RequestsCookieJar

FIXTURE = json.loads(open(os.environ["RUSH_FIXTURE"], encoding="utf-8").read())
#: A distinct address block per step, so that a user of a later step never inherits an earlier one's limit.
STEP = int(os.environ.get("RUSH_STEP", "0"))
_addresses = itertools.count(1)
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FORM_TOKEN_INPUT = re.compile(r'name="form_token" value="([^"]+)"')
#: Business refusals (copy gone, per-address cap) are answers, not errors; counted apart.
OUTCOMES = {"reserved": 0, "refused": 0}


class LoopbackJar(RequestsCookieJar):
    """Keeps the portal's Secure cookies as plain ones: the TLS proxy is not there (its header is), and the
    user must send its CSRF and location cookies back over the loopback as a browser does over HTTPS."""

    def set_cookie(self, cookie, *args, **kwargs):
        cookie.secure = False
        return super().set_cookie(cookie, *args, **kwargs)


class PortalUser(HttpUser):
    abstract = True

    def on_start(self):
        n = next(_addresses)
        self.address = f"10.{STEP % 250}.{n // 250 % 250}.{n % 250 + 1}"
        self.client.cookies = LoopbackJar()
        self.client.headers.update(
            {
                "X-Forwarded-Proto": "https",
                "X-Forwarded-For": self.address,
                "Referer": f"https://{self.host.split('://', 1)[-1]}/",
                "Accept-Language": "fr",
            }
        )

    def get(self, path, name, **params):
        return self.client.get(path, params=params or None, name=name)


class Reader(PortalUser):
    """A reader on a phone: searches, opens books and shops, tells where they are; 1-3 s between pages."""

    weight = 17
    wait_time = between(1, 3)

    @task(5)
    def search(self):
        self.get("/search/", "search", q=random.choice(FIXTURE["queries"]))

    @task(4)
    def book(self):
        self.get(f"/books/{random.choice(FIXTURE['isbns'])}/", "book page")

    @task(1)
    def directory(self):
        self.get("/shops/", "directory")

    @task(1)
    def shop(self):
        self.get(f"/shops/{random.choice(FIXTURE['shops'])}/", "shop page")

    @task(1)
    def location(self):
        # The location form: a postcode or town sets the reader's signed cookie, then the page ranks by distance.
        self.get(
            "/search/", "location change", q=random.choice(FIXTURE["queries"]), near=random.choice(FIXTURE["places"])
        )


class Reserver(PortalUser):
    """A reader who reserves: the book page, the form (its CSRF and one-time tokens), the POST, their own page."""

    weight = 2
    wait_time = between(3, 8)

    @task
    def reserve(self):
        line = random.choice(FIXTURE["lines"])
        self.get(f"/books/{line['isbn']}/", "book page")
        form = self.get(f"/reservations/new/{line['id']}/", "reservation form")
        csrf, token = CSRF_INPUT.search(form.text), FORM_TOKEN_INPUT.search(form.text)
        if form.status_code != 200 or not csrf or not token:
            return  # copies gone since the page was built: no form to send (the GET's status says if it failed)
        data = {
            "csrfmiddlewaretoken": csrf.group(1),
            "form_token": token.group(1),
            "reader_name": "Lecteur de décembre",
            "reader_email": f"{uuid.uuid4().hex[:12]}@lecteurs.example",
            "reader_phone": "",
            "quantity": "1",
            "note": "",
            "website": "",
        }
        with self.client.post(
            f"/reservations/new/{line['id']}/",
            data=data,
            name="reservation POST",
            headers={"Referer": form.url.replace("http://", "https://", 1)},
            catch_response=True,
            allow_redirects=False,
        ) as response:
            if response.status_code == 302:
                OUTCOMES["reserved"] += 1
                response.success()
                reader_page = response.headers["Location"]
            elif response.status_code == 400 and "error-summary" in response.text:
                OUTCOMES["refused"] += 1  # the last copy went to someone else, or a limit said no: the form says why
                response.success()
                return
            else:
                response.failure(f"status {response.status_code}")
                return
        self.get(reader_page, "reader's page")


class PointOfSale(PortalUser):
    """A shop's till: PATCHes a few lines every 2-5 s with its API token; now and then PUTs its whole stock."""

    weight = 1
    wait_time = between(2, 5)

    def on_start(self):
        super().on_start()
        self.shop = random.choice(FIXTURE["pos"])
        self.client.headers["Authorization"] = f"Bearer {self.shop['token']}"

    @task(19)
    def patch(self):
        # Copies on the shelf only grow here (arrivals): the oversold check afterwards stays meaningful.
        stocks = [{"ref": isbn, "quantity": random.randint(20, 40)} for isbn in random.sample(self.shop["isbns"], k=3)]
        self.client.patch(f"/api/v1/shops/{self.shop['slug']}/stock", json={"stocks": stocks}, name="API PATCH")

    @task(1)
    def put(self):
        rows = "\n".join(f"{isbn};{random.randint(20, 40)}" for isbn in self.shop["isbns"])
        self.client.put(
            f"/api/v1/shops/{self.shop['slug']}/stock",
            data=f"EAN;Qté\n{rows}\n".encode(),
            headers={"Content-Type": "text/csv; charset=utf-8"},
            name="API PUT",
        )


@events.quitting.add_listener
def write_outcomes(environment, **kwargs):
    path = os.environ.get("RUSH_OUTCOMES")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(OUTCOMES, out)
