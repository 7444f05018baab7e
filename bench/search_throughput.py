#!/usr/bin/env python
"""Benchmark: /search/ requests/s under gunicorn beside its limits, measured in the same run.

Starts gunicorn (2 sync workers, production settings: DEBUG off, collected static
files, persistent connections) on the bench database and drives it with
concurrent client processes for a fixed time, in alternating rounds:

- ``/search/`` for the queries of bench/search.py;
- a bare Django view (bench/search_bare_urls.py, mounted only by this bench's
  settings) running exactly the SQL the page ran for the same query, captured
  from the page just before, and answering minimal HTML;
- a static file through the same stack (the machine's ceiling at that moment).

It prints requests/s for each and the page's share of the bare view's rate.
With ``--replica-url`` the portal and the bare view read the catalogue from a
streaming replica (``DATABASE_REPLICA_URL``, portal/routers.py; make one with
``scripts/pg-replica``, which serves every database of the primary on 5433).

    .venv/bin/python bench/search.py --db postgres --books 200000 --lines 2000000   # makes the data once
    .venv/bin/python bench/search_throughput.py --seconds 30
    .venv/bin/python bench/search_throughput.py --seconds 30 \\
        --replica-url postgres://postgres@127.0.0.1:5433/bench_search
    .venv/bin/python bench/search_throughput.py --profile      # cProfile of one page, test client

Uses the database ``BENCH_DATABASE`` (default ``bench_search``) filled by bench/search.py;
``--books N`` generates it first when empty.
"""

import argparse
import cProfile
import importlib.util
import json
import multiprocessing
import os
import pstats
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.search_bare_settings"

_spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
bench_search = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_search)

PORT = 8766
STATIC_PATH = "/static/css/portal.css"


def capture(queries, *, with_replica):
    """{query: [(alias, sql), …]}: the statements one /search/ request runs, once warm."""
    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    aliases = ["default", *(["replica"] if with_replica else [])]
    captured = {}
    for query in queries:
        client.get("/search/", {"q": query})  # warm: cached genres, the search miss row created
        contexts = [CaptureQueriesContext(connections[alias]) for alias in aliases]
        for context in contexts:
            context.__enter__()
        response = client.get("/search/", {"q": query})
        for context in reversed(contexts):
            context.__exit__(None, None, None)
        assert response.status_code in (200, 302), (query, response.status_code)
        # The log has no timestamps across connections, but each alias's order is kept; the page's
        # reads and writes do not depend on one another's order.
        captured[query] = [
            (alias, q["sql"]) for alias, context in zip(aliases, contexts) for q in context.captured_queries
        ]
    return captured


def clients_loop(paths, seconds, worker_id, out):
    import http.client

    count = errors = 0
    deadline = time.monotonic() + seconds
    i = worker_id
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        conn.request("GET", paths[i % len(paths)])
        response = conn.getresponse()
        response.read()
        conn.close()
        i += 1
        if response.status in (200, 302):
            count += 1
        else:
            errors += 1
    out.put((count, errors))


def load(paths, seconds, clients):
    """(requests, errors, elapsed seconds) of ``clients`` processes looping over ``paths``."""
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=clients_loop, args=(paths, seconds, i, out)) for i in range(clients)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return sum(r[0] for r in results), sum(r[1] for r in results), time.perf_counter() - started


def start_gunicorn(env):
    import http.client

    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(150):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", STATIC_PATH)
            conn.getresponse().read()
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def profile(queries):
    from django.test import Client

    client = Client()
    for query in queries:
        client.get("/search/", {"q": query})
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20):
        for query in queries:
            client.get("/search/", {"q": query})
    profiler.disable()
    print(f"cProfile of {20 * len(queries)} /search/ requests through the test client (cumulative time):")
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(int(os.environ.get("PROFILE_LINES", "45")))
    stats.sort_stats("tottime").print_stats(int(os.environ.get("PROFILE_LINES", "45")))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=30, help="load per kind, split into --rounds rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--books", type=int, default=0, help="generate this many books when the database is empty")
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--replica-url", default="", help="a streaming replica of the bench database")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the page and stop")
    args = parser.parse_args()

    db_url = bench_search.PG_URL
    env = {**os.environ, **bench_search.PRODUCTION_ENV, "DATABASE_URL": db_url}
    if args.replica_url:
        env["DATABASE_REPLICA_URL"] = args.replica_url
    os.environ.update(env)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from catalogue.models import Book

    if args.books and not Book.objects.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "search.py"), "--books", str(args.books), "--lines", str(args.lines)],
            check=True,
        )
    call_command("collectstatic", interactive=False, verbosity=0)
    gen = bench_search.Generator(1, 1, 1)
    rare = gen.vocabulary[-500:]
    queries = [q for q in bench_search.QUERIES.values() if q] + [rare[0], f"{rare[1]} {rare[2]}"]
    books = Book.objects.count()
    if args.profile:
        profile(queries)
        return

    captured = capture(queries, with_replica=bool(args.replica_url))
    per_page = {q: len(statements) for q, statements in captured.items()}
    connection.close()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(captured, file)
    env["SEARCH_BARE_QUERIES"] = file.name

    server = start_gunicorn(env)
    try:
        encoded = [urllib.parse.urlencode({"q": q}) for q in queries]
        kinds = {
            "page": [f"/search/?{q}" for q in encoded],
            "bare": [f"/bench/bare-search/?{q}" for q in encoded],
            "static": [STATIC_PATH],
        }
        load(kinds["page"] + kinds["bare"], 3, args.clients)  # warm both workers
        totals = {kind: [0, 0, 0.0] for kind in kinds}
        round_seconds = max(2, args.seconds // args.rounds)
        for _ in range(args.rounds):
            for kind, paths in kinds.items():
                seconds = max(2, round_seconds // 3) if kind == "static" else round_seconds
                done, errors, elapsed = load(paths, seconds, args.clients)
                totals[kind][0] += done
                totals[kind][1] += errors
                totals[kind][2] += elapsed
    finally:
        server.terminate()
        server.wait(10)
        os.unlink(file.name)

    rate = {kind: done / elapsed for kind, (done, _errors, elapsed) in totals.items()}
    reads = f"replica {args.replica_url}" if args.replica_url else "primary only"
    print(
        f"{books:,} books; gunicorn 2 sync workers, {args.clients} client processes, "
        f"{args.rounds} rounds of {round_seconds} s per kind; reads: {reads}"
    )
    print("SQL statements per page: " + ", ".join(f"{q!r} {n}" for q, n in per_page.items()))
    for kind, label in (("page", "/search/"), ("bare", "bare view, same SQL"), ("static", "static file")):
        print(f"{label:<22} {rate[kind]:>7.0f} requests/s  ({totals[kind][1]} errors)")
    print(f"page / bare view: {100 * rate['page'] / rate['bare']:.0f} %")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores shared with other work)")


if __name__ == "__main__":
    main()
