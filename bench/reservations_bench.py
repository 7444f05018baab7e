"""Reservations per second with 50 concurrent clients on PostgreSQL, and oversold copies.

    /work/main/.venv/bin/python bench/reservations_bench.py [--clients 50] [--seconds 10]

Runs in its own database (``bench_reservations``, created if missing) and
compares, in the same run, the service (``reservation_create``: conditional
UPDATE, reservation row, history row, two e-mails written into the outbox
and one task enqueued on commit: rendering and sending are the worker's,
not measured here) with raw SQL (SELECT … FOR UPDATE,
decrement, INSERT) over the same connection count. Each client is a thread
with its own database connection. Three runs each: "spread" (many lines,
little contention), "hot" (every client on a few lines with plenty of
copies: row-lock contention) and "last copies" (a few lines that run dry:
attempts per second, almost all refused).
"""

import argparse
import os
import random
import secrets
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = os.environ.get("BENCH_DATABASE", "bench_reservations")
BASE = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
os.environ["DATABASE_URL"] = f"{BASE}/{DB}"
os.environ["EMAIL_URL"] = "dummymail://"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret-" + "x" * 40)  # production settings, DEBUG off


def ensure_database():
    import psycopg

    with psycopg.connect(f"{BASE}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{DB}"')


def setup_stock(lines: int, copies: int):
    from django.db import connection
    from django.utils import timezone

    from bookshops.models import Shop
    from catalogue.models import Book, StockLine

    tables = {
        "reservations_outgoingemail",
        "reservations_reservationevent",
        "reservations_reservation",
        "catalogue_stockline",
        "catalogue_book",
        "bookshops_shop",
        "django_tasks_database_dbtaskresult",
    }
    with connection.cursor() as cur:
        tables &= set(connection.introspection.table_names(cur))
        cur.execute(f"TRUNCATE {', '.join(sorted(tables))} RESTART IDENTITY CASCADE")
    shop = Shop.objects.create(name="Librairie du banc", slug="banc", email="banc@example.org")
    books = Book.objects.bulk_create(Book(isbn=f"979{n:010d}", title=f"Livre {n}") for n in range(lines))
    now = timezone.now()
    StockLine.objects.bulk_create(StockLine(shop=shop, book=b, quantity=copies, changed_at=now) for b in books)
    return list(StockLine.objects.filter(shop=shop).values_list("pk", flat=True))


def run_clients(clients: int, seconds: float, work):
    """Start ``clients`` threads that call ``work(rng)`` until time is up; count outcomes."""
    from django.db import connections

    counts = {"ok": 0, "refused": 0, "error": 0}
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    stop = threading.Event()

    def client(seed):
        rng = random.Random(seed)
        local = {"ok": 0, "refused": 0, "error": 0}
        barrier.wait()
        try:
            while not stop.is_set():
                try:
                    local["ok" if work(rng) else "refused"] += 1
                except Exception as exc:  # noqa: BLE001 - counted and shown
                    local["error"] += 1
                    if local["error"] == 1:
                        print("  error:", type(exc).__name__, exc, file=sys.stderr)
        finally:
            connections.close_all()
            with lock:
                for k, v in local.items():
                    counts[k] += v

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return counts, time.perf_counter() - started


def oversold() -> dict:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*), coalesce(sum(held - quantity), 0) FROM catalogue_stockline WHERE held > quantity")
        lines, copies = cur.fetchone()
        cur.execute(
            """SELECT count(*) FROM catalogue_stockline s LEFT JOIN (
                   SELECT shop_id, book_id, sum(quantity) AS q FROM reservations_reservation
                   WHERE status IN ('requested', 'confirmed') GROUP BY shop_id, book_id) r
               ON r.shop_id = s.shop_id AND r.book_id = s.book_id
               WHERE s.held <> coalesce(r.q, 0)"""
        )
        (mismatched,) = cur.fetchone()
    return {"oversold_lines": lines, "oversold_copies": copies, "held_vs_reservations_mismatch": mismatched}


def service_work(line_ids):
    from catalogue.stock.selectors import stock_line_to_reserve
    from reservations.exceptions import InsufficientStock
    from reservations.services import reservation_create

    counter = iter(range(10**9))

    def work(rng):
        # What the reservation view does per request: load the line, then call the service.
        line = stock_line_to_reserve(pk=rng.choice(line_ids))
        try:
            reservation_create(
                stock_line=line,
                quantity=1,
                reader_name="Lecteur du banc",
                reader_email=f"r{next(counter)}@example.org",
                form_token=secrets.token_hex(12),
            )
        except InsufficientStock:
            return False
        return True

    return work


def bench_service(line_ids, clients, seconds):
    return run_clients(clients, seconds, service_work(line_ids))


def raw_work(line_ids):
    import psycopg

    from reservations.models import new_reference

    local = threading.local()
    dsn = f"{BASE}/{DB}"

    def work(rng):
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(dsn)
        line_id = rng.choice(line_ids)
        with conn.transaction():
            row = conn.execute(
                "SELECT shop_id, book_id, quantity, held FROM catalogue_stockline WHERE id = %s FOR UPDATE", [line_id]
            ).fetchone()
            shop_id, book_id, quantity, held = row
            if quantity - held < 1:
                return False
            conn.execute("UPDATE catalogue_stockline SET held = held + 1 WHERE id = %s", [line_id])
            conn.execute(
                """INSERT INTO reservations_reservation (reference, shop_id, book_id, quantity, reader_name,
                       reader_email, reader_phone, note, language, status, created_at, updated_at, cancel_reason)
                   VALUES (%s, %s, %s, 1, 'Lecteur du banc', 'raw@example.org', '', '', 'fr', 'requested',
                           now(), now(), '')""",
                [new_reference(), shop_id, book_id],
            )
        return True

    return work


def bench_raw(line_ids, clients, seconds):
    return run_clients(clients, seconds, raw_work(line_ids))


def cpu_per_reservation(make_work, line_ids, count: int) -> float:
    """Python CPU (ms) one reservation costs the request, one thread: steady whatever the machine's load."""
    import random

    work, rng = make_work(line_ids), random.Random(1)
    for _ in range(20):  # warm-up: templates, translations, connections
        work(rng)
    started = time.process_time()
    for _ in range(count):
        work(rng)
    return (time.process_time() - started) * 1000 / count


def request_and_worker_cpu(line_ids, count: int):
    """Python CPU of the request and of the worker's task (render and send its e-mails), one after the other."""
    import random

    try:
        from reservations.emails import emails_send
    except ImportError:
        return None  # before the e-mails moved to a task
    from reservations.models import OutgoingEmail

    work, rng = service_work(line_ids), random.Random(2)
    request = worker = 0.0
    for i in range(count + 20):
        started = time.process_time()
        work(rng)
        made = time.process_time()
        emails_send.call(list(OutgoingEmail.objects.pending().values_list("pk", flat=True)))
        if i >= 20:  # after the warm-up
            request += made - started
            worker += time.process_time() - made
    return request * 1000 / count, worker * 1000 / count


def run_worker(args):
    """One of ``--processes`` processes: its share of the clients, counts as JSON on stdout."""
    import json

    import django

    django.setup()
    line_ids = json.loads(os.environ["BENCH_LINE_IDS"])
    runner = bench_service if args.worker == "service" else bench_raw
    counts, elapsed = runner(line_ids, args.clients, args.seconds)
    print(json.dumps({"counts": counts, "elapsed": elapsed}))


def run_processes(kind, line_ids, args):
    """Split the clients over ``args.processes`` processes (one GIL each) started together."""
    import json
    import subprocess

    env = {**os.environ, "BENCH_LINE_IDS": json.dumps(line_ids)}
    per = max(1, args.clients // args.processes)
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", kind, "--clients", str(per), "--seconds", str(args.seconds)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(args.processes)
    ]
    counts, elapsed = {"ok": 0, "refused": 0, "error": 0}, 0.0
    for proc in procs:
        out, _err = proc.communicate()
        result = json.loads(out.strip().splitlines()[-1])
        for k, v in result["counts"].items():
            counts[k] += v
        elapsed = max(elapsed, result["elapsed"])
    return counts, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=1, help="split the clients over this many processes")
    parser.add_argument("--worker", choices=["service", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--lines", type=int, default=2000, help="stock lines (books) in the bench shop")
    parser.add_argument("--copies", type=int, default=20, help="copies on hand per line")
    parser.add_argument("--hot", type=int, default=5, help="lines in the contention runs (hot, last copies)")
    parser.add_argument("--cpu", type=int, metavar="N", help="only measure the CPU of N reservations, one thread")
    args = parser.parse_args()
    if args.worker:
        return run_worker(args)

    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(
        f"{args.clients} clients in {args.processes} process(es), {args.seconds:.0f} s per run, "
        f"PostgreSQL database {DB}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )

    if args.cpu:
        for label, make_work in (("service", service_work), ("raw SQL", raw_work)):
            line_ids = setup_stock(args.lines, args.copies)
            ms = cpu_per_reservation(make_work, line_ids, args.cpu)
            print(f"{label:8} {ms:6.2f} ms of Python CPU per reservation, {1000 / ms:6.0f}/s per core at most")
        split = request_and_worker_cpu(setup_stock(args.lines, args.copies), args.cpu)
        if split:
            print(
                "request {:6.2f} ms + worker {:6.2f} ms per reservation, measured in turn in one process".format(*split)
            )
        return None
    for label, kind, runner in (("service", "service", bench_service), ("raw SQL", "raw", bench_raw)):
        for scenario, lines, copies in (
            ("spread", args.lines, args.copies),
            (f"hot ({args.hot} lines, plenty)", args.hot, 1_000_000),
            (f"last copies ({args.hot}×20, dry)", args.hot, 20),
        ):
            line_ids = setup_stock(lines, copies)
            if args.processes > 1:
                counts, elapsed = run_processes(kind, line_ids, args)
            else:
                counts, elapsed = runner(line_ids, args.clients, args.seconds)
            rate = counts["ok"] / elapsed
            check = oversold()
            print(
                f"{label:8} {scenario:26} {rate:8.0f} reservations/s  "
                f"(ok {counts['ok']}, sold out {counts['refused']}, errors {counts['error']}, "
                f"{(counts['ok'] + counts['refused']) / elapsed:.0f} attempts/s)  "
                f"oversold copies {check['oversold_copies']}, held≠reservations on {check['held_vs_reservations_mismatch']} lines"
            )


if __name__ == "__main__":
    main()
