"""The portal's URLs plus ``/bench/bare-search/``, mounted only by bench/search_bare_settings.py.

The bare view runs exactly the SQL the search page ran for the same ``q`` (captured by
bench/search_throughput.py into the JSON file named by ``SEARCH_BARE_QUERIES``), on the
same database aliases, and answers minimal HTML: the cost of the page's SQL through the
same Django stack, without forms, services, ORM or templates.
"""

import functools
import json
import os

from django.db import connections
from django.http import HttpResponse
from django.urls import path
from django.utils.html import escape

from portal.urls import urlpatterns as portal_urlpatterns


@functools.cache
def captured() -> dict:
    with open(os.environ["SEARCH_BARE_QUERIES"], encoding="utf-8") as file:
        return json.load(file)


def bare_search(request):
    last = []
    for alias, sql in captured()[request.GET.get("q", "")]:
        with connections[alias].cursor() as cursor:
            cursor.execute(sql)
            if cursor.description:
                last = cursor.fetchall()
    items = "".join(f"<li>{escape(row[0])}</li>" for row in last)
    return HttpResponse(f"<!DOCTYPE html><html lang=fr><title>Recherche</title><ol>{items}</ol></html>")


urlpatterns = [path("bench/bare-search/", bare_search), *portal_urlpatterns]
