#!/usr/bin/env python
"""Benchmark: search service, raw SQL, /search/ page and gunicorn throughput on a generated catalogue.

Builds a throw-away database (PostgreSQL: COPY; SQLite: executemany), indexes
it with ``search_index_rebuild``, then times a fixed set of queries (common
words, rare words, an author, an ISBN, a typo): p50/p95 of the search service,
of the raw SQL it runs (hits + count) and of the whole /search/ request
through Django's test client; finally requests/s of the page under gunicorn
(2 sync workers) with a bounded loop of concurrent clients on 127.0.0.1.

    .venv/bin/python bench/search.py --db postgres --books 200000 --lines 2000000
    .venv/bin/python bench/search.py --db sqlite --books 200000 --lines 1000000
    (--reuse skips generation when the bench database already holds the data)

PostgreSQL uses the database ``bench_search`` (dropped and re-created),
SQLite the file var/bench_search.sqlite3. Never point it at real data.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
#: BENCH_DATABASE names the throw-away database, so that two people benching at once never share one.
PG_DB = os.environ.get("BENCH_DATABASE", "bench_search")
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
SQLITE_PATH = ROOT / "var" / "bench_search.sqlite3"

REAL_WORDS = (
    "histoire roman guide vie temps monde France Bordeaux Aquitaine Gironde Landes Pyrénées océan vin cuisine "
    "enfants jardin mer montagne guerre amour nuit jour femme homme secret mémoire voyage chemin maison ville "
    "livre librairie économie politique société philosophie poésie théâtre lettres nouvelles contes légendes "
    "art peinture musique cinéma science nature oiseaux arbres forêt rivière Garonne Dordogne Adour Béarn "
    "Basque Périgord Médoc château cathédrale reine roi duc comtesse siècle moyen âge révolution empire "
    "république carnet journal correspondance atlas dictionnaire manuel méthode initiation petit grand "
    "dernier premier nouveau vieux blanc noir rouge bleu vert été hiver printemps automne"
).split()
STOPWORDS = "le la les de des du un une et en au aux".split()
FIRST_NAMES = (
    "Jean Marie Pierre Anne Louis Claire Paul Sophie Michel Hélène Jacques Isabelle François Élise "
    "Henri Camille Bernard Juliette Alain Lucie Yves Margot Régis Éloïse Gérard Inès"
).split()
SYLLABLES = "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo ga go la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po ra re ri ro ru sa se si so ta te ti to tu va ve vi vo ar er ir or ur an en on in el al ol ou oi eau ien ette ard ier".split()

QUERIES = {
    "common word": "histoire",
    "two common words": "roman histoire",
    "rare word": None,  # filled from the generated vocabulary
    "two rare words": None,
    "author (surname)": "Pernoud",
    "ISBN": "978-2-253-00463-9",
    "typo": "Aquitiane",
    "typo + word": "histoire Bordaeux",
}


def ean13(body12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def fake_word(rng):
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


class Generator:
    """Deterministic French-looking catalogue: Zipf-distributed title words, surnames, publishers."""

    def __init__(self, books, lines, shops, seed=42):
        self.n_books, self.n_lines, self.n_shops = books, lines, shops
        self.rng = random.Random(seed)
        synthetic = sorted({fake_word(self.rng) for _ in range(30_000)})
        self.rng.shuffle(synthetic)
        self.vocabulary = REAL_WORDS + synthetic[:20_000]
        weights = [1 / (rank + 1) for rank in range(len(self.vocabulary))]
        total = sum(weights)
        acc, self.cum = 0.0, []
        for w in weights:
            acc += w / total
            self.cum.append(acc)
        self.surnames = sorted({fake_word(self.rng).capitalize() for _ in range(6000)})
        self.publishers = [f"Éditions {fake_word(self.rng).capitalize()}" for _ in range(400)]
        self.collections = [f"{w.capitalize()} {fake_word(self.rng)}" for w in self.rng.choices(REAL_WORDS, k=600)]

    def words(self, k):
        return self.rng.choices(self.vocabulary, cum_weights=self.cum, k=k)

    def books(self):
        rng = self.rng
        for i in range(self.n_books):
            if i == 0:
                yield (
                    ("9782253004639", "Aliénor d'Aquitaine", "", "Le Livre de Poche", "Biographies"),
                    ["Régine Pernoud"],
                )
                continue
            words = self.words(rng.randint(1, 5))
            if rng.random() < 0.5:
                words.insert(rng.randint(0, len(words)), rng.choice(STOPWORDS))
            title = " ".join(words).capitalize()
            subtitle = " ".join(self.words(rng.randint(2, 4))) if rng.random() < 0.3 else ""
            authors = [
                f"{rng.choice(FIRST_NAMES)} {rng.choice(self.surnames)}" for _ in range(rng.choice((1, 1, 1, 2)))
            ]
            isbn = ean13(f"979{10_000_000 + i:09d}")
            collection = rng.choice(self.collections) if rng.random() < 0.4 else ""
            yield (isbn, title, subtitle, rng.choice(self.publishers), collection), authors

    def stock_pairs(self):
        """(shop index, book index) pairs, popular (low-index) books in many more shops."""
        per_shop = self.n_lines // self.n_shops
        for shop in range(self.n_shops):
            seen = set()
            while len(seen) < per_shop:
                seen.add(int(self.n_books * self.rng.random() ** 2))
            for book in seen:
                yield shop, book


def generate(gen, connection):
    from django.utils import timezone

    from bookshops.models import Shop

    now = timezone.now()
    Shop.objects.bulk_create(
        Shop(
            name=f"Librairie {i}",
            slug=f"bench-{i}",
            town="Bordeaux",
            postcode="33000",
            department="33",
            latitude=44.8 + (i % 50) / 100,
            longitude=-0.6 + (i // 50) / 100,
            stock_reported_at=now,
        )
        for i in range(gen.n_shops)
    )
    shop_ids = list(Shop.objects.order_by("pk").values_list("pk", flat=True))
    book_rows, contributor_rows = [], []
    for index, ((isbn, title, subtitle, publisher, collection), authors) in enumerate(gen.books()):
        availability = "out_of_print" if gen.rng.random() < 0.05 else "available"
        book_rows.append((isbn, title, subtitle, publisher, collection, "fre", availability))
        contributor_rows += [(index, name, position) for position, name in enumerate(authors)]
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        raw = connection.connection
        with raw.cursor() as cur:
            with cur.copy(
                "COPY catalogue_book (isbn, title, subtitle, publisher, collection, language, availability, "
                "published_on, page_count, summary, cover_url, provenance, created_at, updated_at, product_form, "
                "product_form_code) FROM STDIN"
            ) as copy:
                for row in book_rows:
                    copy.write_row((*row, None, None, "", "", "{}", now, now, "print", ""))
            cur.execute("SELECT id FROM catalogue_book ORDER BY id")
            book_ids = [r[0] for r in cur.fetchall()]
            with cur.copy("COPY catalogue_contributor (book_id, name, role, position) FROM STDIN") as copy:
                for index, name, position in contributor_rows:
                    copy.write_row((book_ids[index], name, "author", position))
            books_done = time.perf_counter()
            with cur.copy(
                "COPY catalogue_stockline (shop_id, book_id, quantity, held, price, changed_at, stock_version) FROM STDIN"
            ) as copy:
                for shop, book in gen.stock_pairs():
                    quantity = 0 if gen.rng.random() < 0.2 else gen.rng.randint(1, 5)
                    copy.write_row((shop_ids[shop], book_ids[book], quantity, 0, "12.50", now, 0))
        raw.commit()
    else:
        from django.db import transaction

        with transaction.atomic(), connection.cursor() as cur:
            cur.executemany(
                "INSERT INTO catalogue_book (isbn, title, subtitle, publisher, collection, language, availability, "
                "published_on, page_count, summary, cover_url, provenance, created_at, updated_at, product_form, "
                "product_form_code) VALUES (%s, %s, %s, %s, %s, %s, %s, NULL, NULL, '', '', '{}', %s, %s, 'print', '')",
                [(*row, now, now) for row in book_rows],
            )
            cur.execute("SELECT id FROM catalogue_book ORDER BY id")
            book_ids = [r[0] for r in cur.fetchall()]
            cur.executemany(
                "INSERT INTO catalogue_contributor (book_id, name, role, position) VALUES (%s, %s, 'author', %s)",
                [(book_ids[i], name, pos) for i, name, pos in contributor_rows],
            )
            books_done = time.perf_counter()
            cur.executemany(
                "INSERT INTO catalogue_stockline (shop_id, book_id, quantity, held, price, changed_at, stock_version) "
                "VALUES (%s, %s, %s, 0, '12.50', %s, 0)",
                [
                    (shop_ids[s], book_ids[b], 0 if gen.rng.random() < 0.2 else gen.rng.randint(1, 5), now)
                    for s, b in gen.stock_pairs()
                ],
            )
    ended = time.perf_counter()
    print(
        f"generated {len(book_rows)} books in {books_done - started:.1f} s "
        f"({len(book_rows) / (books_done - started):,.0f}/s), stock lines in {ended - books_done:.1f} s"
    )


def place_shops(connection, seed):
    """Spread the shops as a national network is: a dense city (Bordeaux: 15 % of the shops within
    30 km, as many as around Paris), the others on towns all over France."""
    from bookshops.gazetteer import get_gazetteer
    from bookshops.geo import sphere_km

    towns = [place for places in get_gazetteer().by_name.values() for place in places]
    around = [t for t in towns if sphere_km(44.84, -0.58, t.latitude, t.longitude) < 28]
    rng = random.Random(seed)
    with connection.cursor() as cur:
        cur.execute("SELECT id FROM bookshops_shop ORDER BY id")
        ids = [row[0] for row in cur.fetchall()]
        dense = len(ids) * 15 // 100
        for position, pk in enumerate(ids):
            town = rng.choice(around if position < dense else towns)
            cur.execute(
                "UPDATE bookshops_shop SET latitude = %s, longitude = %s WHERE id = %s",
                [town.latitude, town.longitude, pk],
            )


def percentiles(samples):
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p95 * 1000


def timed(fn, repeat):
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def load_clients(port, paths, seconds, worker_id, out):
    import http.client

    count, errors = 0, 0
    deadline = time.monotonic() + seconds
    i = worker_id
    while time.monotonic() < deadline:
        path = paths[i % len(paths)]
        i += 1
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status in (200, 302):
            count += 1
        else:
            errors += 1
    out.put((count, errors))


#: Production-like settings for the in-process page timings and gunicorn (DEBUG off, static files collected).
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "bench-only-" + "x" * 50,
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_STATIC_ROOT": "/tmp/bench_search_static",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "DJANGO_LOG_LEVEL": "WARNING",
}


def gunicorn_throughput(db_url, queries, seconds, clients):
    """Requests/s of /search/ for these queries, and of a static file (the machine's ceiling right now)."""
    import multiprocessing
    import urllib.parse

    port = 8765
    env = {**os.environ, "DATABASE_URL": db_url}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        import http.client

        for _ in range(100):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/search/?q=histoire")
                c.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)

        def load(paths, duration):
            out = multiprocessing.Queue()
            procs = [
                multiprocessing.Process(target=load_clients, args=(port, paths, duration, i, out))
                for i in range(clients)
            ]
            started = time.perf_counter()
            for p in procs:
                p.start()
            results = [out.get() for _ in procs]
            for p in procs:
                p.join()
            elapsed = time.perf_counter() - started
            return sum(r[0] for r in results) / elapsed, sum(r[1] for r in results)

        search = load(["/search/?" + urllib.parse.urlencode({"q": q}) for q in queries], seconds)
        static = load(["/static/css/portal.css"], max(3, seconds // 3))
        return search, static
    finally:
        server.terminate()
        server.wait(10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--books", type=int, default=200_000)
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--shops", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--seconds", type=int, default=15, help="duration of the gunicorn load")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="keep the existing bench database")
    args = parser.parse_args()

    if args.db == "postgres":
        db_url = PG_URL
        if not args.reuse:
            subprocess.run(["psql", PG_ADMIN_URL, "-qc", f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'], check=True)
            subprocess.run(["psql", PG_ADMIN_URL, "-qc", f'CREATE DATABASE "{PG_DB}"'], check=True)
    else:
        db_url = f"sqlite:///{SQLITE_PATH}"
        SQLITE_PATH.parent.mkdir(exist_ok=True)
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = db_url
    os.environ.update(PRODUCTION_ENV)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from catalogue.models import Book
    from catalogue.search import get_engine, search_books, search_index_rebuild
    from catalogue.search.engine import Filters, Term
    from catalogue.search.text import query_words

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    gen = Generator(args.books, args.lines, args.shops)
    if not args.reuse or not Book.objects.exists():
        generate(gen, connection)
        started = time.perf_counter()
        done = search_index_rebuild(progress=lambda d, t: print(f"\rindexing {d}/{t}", end="", flush=True))
        elapsed = time.perf_counter() - started
        print(f"\nindexed {done} books in {elapsed:.1f} s ({done / elapsed:,.0f} books/s)")
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("VACUUM ANALYZE")
        else:
            with connection.cursor() as cur:
                cur.execute("ANALYZE")

    place_shops(connection, seed=42)
    rare = gen.vocabulary[-500:]
    QUERIES["rare word"] = rare[0]
    QUERIES["two rare words"] = f"{rare[1]} {rare[2]}"
    engine = get_engine()
    client = Client()
    print(
        f"\n{connection.vendor}: {Book.objects.count():,} books, "
        f"{connection.cursor().execute('SELECT count(*) FROM catalogue_stockline').fetchone()[0]:,} stock lines, "
        f"{args.shops} shops; {args.repeat} runs per query (ms)"
    )
    print(
        f"{'query':<18} {'hits':>7} | {'service p50':>11} {'p95':>6} | {'raw SQL p50':>11} {'p95':>6} | {'page p50':>8} {'p95':>6}"
    )
    for label, query in QUERIES.items():
        results = search_books(query=query)
        service = timed(lambda: search_books(query=query), args.repeat)
        words = query_words(query)
        if results.isbn:
            raw = timed(lambda: Book.objects.filter(isbn=results.isbn).first(), args.repeat)
        else:
            corrections = engine.corrections(words)
            terms = [Term(word=w, alternatives=corrections.get(w, [])) for w in words]
            terms[-1].prefix = len(terms[-1].word) >= 3
            filters = Filters()
            raw = timed(
                lambda: (
                    engine.hits(terms=terms, filters=filters, limit=20, offset=0),
                    engine.count(terms=terms, filters=filters),
                ),
                args.repeat,
            )
        page = timed(lambda: client.get("/search/", {"q": query}), args.repeat)
        print(
            f"{label:<18} {results.total:>7} | {service[0]:>11.1f} {service[1]:>6.1f} | "
            f"{raw[0]:>11.1f} {raw[1]:>6.1f} | {page[0]:>8.1f} {page[1]:>6.1f}"
        )
    in_stock = timed(lambda: search_books(query="histoire", in_stock_only=True), args.repeat)
    near = timed(lambda: search_books(query="histoire", boost_shop_ids=list(range(1, 31))), args.repeat)
    print(
        f"service 'histoire' in stock only: p50 {in_stock[0]:.1f} p95 {in_stock[1]:.1f}; "
        f"boosted by 30 nearby shops: p50 {near[0]:.1f} p95 {near[1]:.1f}"
    )
    # The reader in Bordeaux, with 15 % of the network's shops within 30 km (the densest city's case).
    reader = {"lat": "44.84", "lon": "-0.58", "radius": "30"}
    for label, extra in (("page, 30 km boost", {}), ("page, 30 km only", {"near_only": "on"})):
        for query in ("histoire", "Aquitiane"):
            page = timed(lambda: client.get("/search/", {"q": query, **reader, **extra}), args.repeat)
            print(f"{label} {query!r}: p50 {page[0]:.1f} p95 {page[1]:.1f}")
    connection.close()

    page_queries = [q for q in QUERIES.values() if q]
    (rps, errors), (static_rps, _static_errors) = gunicorn_throughput(db_url, page_queries, args.seconds, args.clients)
    print(
        f"gunicorn 2 sync workers, {args.clients} client processes, {args.seconds} s: /search/ {rps:.0f} requests/s "
        f"({errors} errors); a static file through the same stack: {static_rps:.0f} requests/s"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores shared with other work)")


if __name__ == "__main__":
    main()
