#!/usr/bin/env python
"""The December rush: the whole portal under a rising crowd (Locust), then the stock invariants.

    .venv/bin/pip install -e ".[bench]"
    .venv/bin/python bench/rush/run.py                       # demo data, steps 25 … 300 users, 40 s each
    .venv/bin/python bench/rush/run.py --books 20000 --steps 50,100,200 --seconds 60

Builds its own PostgreSQL database (``bench_rush_load``, dropped and made
again unless ``--reuse``; ``BENCH_DATABASE`` names another): the demo network
(``load_demo``, ``--books`` invented books beside the real ones), one API token
per point-of-sale shop. Then starts the portal as production runs it:
``DJANGO_DEBUG=false``, gunicorn with the README's 4 sync workers on
127.0.0.1, the shared database cache, one ``db_worker`` beside it (it renders
and sends the e-mails, to a dummy mail backend, and refreshes the search
index after PATCHes), requests marked by the TLS proxy's
``X-Forwarded-Proto: https``, each simulated user from its own address in
``X-Forwarded-For`` (``CLIENT_IP_HEADER``, one trusted proxy: the
documented setting, so the per-address reservation limit holds per user as
in production). ``check --deploy`` must pass on that configuration.

For each step (a number of simulated users: 17 readers, 2 readers who reserve
and 1 point-of-sale program in 20) Locust runs for ``--seconds`` after a ramp
of ``--ramp`` seconds whose requests are not counted; the step reports
requests/s, p50/p95/p99 per kind of request, errors, and the CPU the
gunicorn workers, the task worker, this database's PostgreSQL backends and
Locust itself used (cores), beside the whole machine's. Afterwards: no
stock line has more copies held than on hand, and every line's ``held``
equals its active reservations (and pass Culture bookings). The report goes
to stdout and ``var/bench/rush_report.md``; ``--keep`` keeps the database.
"""

import argparse
import csv
import datetime
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
HERE = Path(__file__).resolve().parent
OUT = ROOT / "var" / "bench" / "rush"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("BENCH_DATABASE", "bench_rush_load")
KINDS = (
    "search",
    "location change",
    "book page",
    "directory",
    "shop page",
    "reservation form",
    "reservation POST",
    "reader's page",
    "API PATCH",
    "API PUT",
)
#: The portal as production runs it (README, Production), on 127.0.0.1.
PRODUCTION_ENV = {
    "DATABASE_URL": f"{PG}/{DB}",
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "bench-rush-" + secrets.token_hex(24),
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "CACHE_URL": "dbcache://portal_cache",
    "EMAIL_URL": "dummymail://",
    "RESERVATIONS_LINK_BASE_URL": "https://librairies.example",
    "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR",
    "CLIENT_IP_TRUSTED_PROXIES": "1",
    "DJANGO_STATIC_ROOT": str(OUT / "static"),
    "DJANGO_PRIVATE_MEDIA_ROOT": str(OUT / "private"),
    "DJANGO_MEDIA_ROOT": str(OUT / "media"),
    "DJANGO_LOG_LEVEL": "WARNING",
    "TASKS_BACKEND": "db",
}


def manage(*args, env, check=True, capture=False):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=check, capture_output=capture, text=True
    )


def build(args, env):
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB]).fetchone()
        if exists and args.reuse:
            return
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    started = time.monotonic()
    manage("migrate", "--verbosity", "0", env=env)
    manage("createcachetable", env=env)
    manage("load_demo", "--books", str(args.books), env=env, capture=True)
    print(f"data built in {time.monotonic() - started:.0f} s (demo network, {args.books} invented books)")


def write_fixture(args, env) -> Path:
    """What the simulated users pick from: queries, books, reservable lines, shops, places, tokens."""
    code = f"""
import json, random
from django.db.models import F
from bookshops.models import Shop
from bookshops.tokens import api_token_create
from catalogue.models import Book, StockLine
rng = random.Random(18)
shops = list(Shop.objects.filter(is_active=True).order_by("pk"))
lines = list(StockLine.objects.available().filter(shop__offers_click_and_collect=True, book__product_form="print")
             .values("id", "book__isbn")[:20000])
rng.shuffle(lines)
titles = list(Book.objects.filter(stock_lines__quantity__gt=0).distinct().values_list("title", "isbn")[:5000])
words = [w for t, _ in titles for w in t.split() if len(w) > 3]
queries = rng.sample(words, min(300, len(words))) + [t for t, _ in rng.sample(titles, min(100, len(titles)))]
pos = []
for shop in rng.sample(shops, min({args.pos_shops}, len(shops))):
    _token, raw = api_token_create(shop=shop, name="Caisse du banc")
    isbns = list(StockLine.objects.filter(shop=shop, quantity__gt=0).values_list("book__isbn", flat=True))
    pos.append({{"slug": shop.slug, "token": raw, "isbns": isbns}})
fixture = {{
    "queries": queries,
    "isbns": [i for _, i in titles],
    "lines": [{{"id": l["id"], "isbn": l["book__isbn"]}} for l in lines],
    "shops": [s.slug for s in shops],
    "places": sorted({{s.postcode for s in shops if s.postcode}} | {{s.town for s in shops if s.town}}),
    "pos": pos,
}}
print(json.dumps(fixture))
"""
    out = manage("shell", "-c", code, env=env, capture=True)
    path = OUT / "fixture.json"
    path.write_text(out.stdout.strip().splitlines()[-1], encoding="utf-8")
    fixture = json.loads(path.read_text(encoding="utf-8"))
    print(
        f"fixture: {len(fixture['isbns'])} books, {len(fixture['lines'])} reservable lines, "
        f"{len(fixture['shops'])} shops, {len(fixture['pos'])} point-of-sale tokens"
    )
    return path


def wait_for(url, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the portal did not answer at {url}")


# --- CPU accounting from /proc: who used the two cores during a step --------------------------
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _postgres_backends() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if cmdline.startswith("postgres:") and f" {DB} " in cmdline:
                pids.append(int(entry.name))
    return pids


def _machine_busy() -> float:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / TICKS


class CpuMeter:
    """CPU seconds per group of processes between start() and stop(), as cores used."""

    def __init__(self, groups):
        self.groups = groups  # name -> callable returning pids

    def snapshot(self):
        seen = {name: {pid: _cpu_of(pid) for pid in pids()} for name, pids in self.groups.items()}
        return seen, _machine_busy(), time.monotonic()

    def start(self):
        self.before = self.snapshot()

    def stop(self) -> dict:
        (before, busy0, t0), (after, busy1, t1) = self.before, self.snapshot()
        elapsed = t1 - t0
        # A backend that appeared during the step started from 0; one that ended is lost (short-lived, rare).
        used = {
            name: sum(cpu - before[name].get(pid, 0.0) for pid, cpu in after[name].items()) / elapsed
            for name in self.groups
        }
        used["machine"] = (busy1 - busy0) / elapsed
        return used


def run_step(users, step, args, env, fixture, port, meter) -> dict:
    prefix = OUT / f"step_{users}"
    outcomes = OUT / f"outcomes_{users}.json"
    locust = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(HERE / "locustfile.py"),
            "--headless",
            "--host",
            f"http://127.0.0.1:{port}",
            "--users",
            str(users),
            "--spawn-rate",
            str(max(1, users / args.ramp)),
            "--run-time",
            f"{args.ramp + args.seconds}s",
            "--reset-stats",
            "--csv",
            str(prefix),
            "--only-summary",
            "--stop-timeout",
            "10",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env={**env, "RUSH_FIXTURE": str(fixture), "RUSH_STEP": str(step), "RUSH_OUTCOMES": str(outcomes)},
        stdout=subprocess.DEVNULL,
    )
    time.sleep(args.ramp)  # the ramp: Locust resets its statistics once every user runs
    meter.start()
    locust.wait()
    cpu = meter.stop()
    rows = {}
    with open(f"{prefix}_stats.csv", encoding="utf-8") as stats:
        for row in csv.DictReader(stats):
            rows[row["Name"]] = row
    failures = []
    if Path(f"{prefix}_failures.csv").exists():
        with open(f"{prefix}_failures.csv", encoding="utf-8") as fails:
            failures = [f"{r['Name']}: {r['Error']} ×{r['Occurrences']}" for r in csv.DictReader(fails)]
    return {
        "users": users,
        "rows": rows,
        "failures": failures,
        "outcomes": json.loads(outcomes.read_text()) if outcomes.exists() else {},
        "cpu": cpu,
        "load": os.getloadavg()[0],
    }


def invariants(env, since) -> dict:
    sql = """
WITH holds AS (
    SELECT shop_id, book_id, sum(quantity) AS q FROM reservations_reservation
    WHERE status IN ('requested', 'confirmed') GROUP BY shop_id, book_id
    UNION ALL
    SELECT shop_id, book_id, sum(quantity) FROM passculture_booking WHERE state = 'held' GROUP BY shop_id, book_id
), held AS (SELECT shop_id, book_id, sum(q) AS q FROM holds GROUP BY shop_id, book_id)
SELECT
    (SELECT count(*) FROM catalogue_stockline WHERE held > quantity),
    (SELECT count(*) FROM catalogue_stockline s LEFT JOIN held h ON h.shop_id = s.shop_id AND h.book_id = s.book_id
     WHERE s.held <> coalesce(h.q, 0)),
    (SELECT count(*) FROM held h LEFT JOIN catalogue_stockline s ON h.shop_id = s.shop_id AND h.book_id = s.book_id
     WHERE s.id IS NULL AND h.q > 0),
    (SELECT count(*) FROM reservations_reservation WHERE created_at >= %s)
"""
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as conn:
        oversold, mismatched, orphans, made = conn.execute(sql, [since]).fetchone()
    return {
        "lines with more held than on hand": oversold,
        "lines whose held ≠ active reservations": mismatched + orphans,
        "reservations made during the run": made,
    }


def ms(row, column):
    value = row.get(column, "")
    return "—" if value in ("", "N/A") else f"{float(value):.0f}"


def report(results, checks, args) -> str:
    lines = [
        f"# December rush: {args.workers} gunicorn workers, PostgreSQL `{DB}`, demo data + {args.books} books",
        "",
        f"{args.seconds} s measured per step after a {args.ramp} s ramp; {os.cpu_count()} cores; "
        "p50/p95/p99 in ms; CPU in cores used during the step.",
        "",
        "| users | req/s | p50 | p95 | p99 | errors | reserved / refused | gunicorn | worker | postgres | locust | machine | load |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        agg = r["rows"].get("Aggregated", {})
        cpu = r["cpu"]
        lines.append(
            f"| {r['users']} | {float(agg.get('Requests/s', 0)):.1f} | {ms(agg, '50%')} | {ms(agg, '95%')} | "
            f"{ms(agg, '99%')} | {agg.get('Failure Count', '?')} | {r['outcomes'].get('reserved', 0)} / "
            f"{r['outcomes'].get('refused', 0)} | {cpu['gunicorn']:.2f} | {cpu['worker']:.2f} | "
            f"{cpu['postgres']:.2f} | {cpu['locust']:.2f} | {cpu['machine']:.2f} | {r['load']:.1f} |"
        )
    lines += ["", "p95 per kind of request (ms; requests in the step in brackets):", ""]
    lines.append("| kind | " + " | ".join(f"{r['users']} users" for r in results) + " |")
    lines.append("| --- |" + " --- |" * len(results))
    for kind in KINDS:
        cells = []
        for r in results:
            row = r["rows"].get(kind)
            cells.append(f"{ms(row, '95%')} ({row['Request Count']})" if row else "—")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines += ["", "p50 / p99 per kind (ms):", ""]
    lines.append("| kind | " + " | ".join(f"{r['users']} users" for r in results) + " |")
    lines.append("| --- |" + " --- |" * len(results))
    for kind in KINDS:
        cells = [
            f"{ms(r['rows'][kind], '50%')} / {ms(r['rows'][kind], '99%')}" if kind in r["rows"] else "—"
            for r in results
        ]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    good = [
        r
        for r in results
        if r["rows"].get("Aggregated")
        and int(r["rows"]["Aggregated"]["Failure Count"]) == 0
        and float(r["rows"]["Aggregated"]["95%"]) < 300
    ]
    strict = [r for r in good if all(float(row["95%"]) < 300 for row in r["rows"].values() if row["95%"] != "N/A")]
    lines += [
        "",
        "Largest step with p95 < 300 ms over all requests and 0 errors: "
        + (
            f"**{good[-1]['users']} users, {float(good[-1]['rows']['Aggregated']['Requests/s']):.1f} req/s**"
            if good
            else "none"
        )
        + "; with every kind's p95 < 300 ms: "
        + (f"**{strict[-1]['users']} users**" if strict else "none")
        + ".",
    ]
    for r in results:
        if r["failures"]:
            lines.append(f"- errors at {r['users']} users: " + "; ".join(r["failures"][:5]))
    lines += ["", "After the run:", ""] + [f"- {k}: {v}" for k, v in checks.items()]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="25,50,100,150,200,300", help="simulated users per step")
    parser.add_argument("--seconds", type=int, default=40, help="measured seconds per step")
    parser.add_argument("--ramp", type=int, default=8, help="seconds to start a step's users (not measured)")
    parser.add_argument("--books", type=int, default=600, help="invented books beside the demo's real ones")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (the README's 4)")
    parser.add_argument("--pos-shops", type=int, default=10, help="shops whose till calls the API")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--reuse", action="store_true", help="keep the bench database if it exists")
    parser.add_argument("--keep", action="store_true", help="do not drop the bench database at the end")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **PRODUCTION_ENV}
    build(args, env)
    manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
    deploy = manage("check", "--deploy", "--fail-level", "WARNING", env=env, check=False, capture=True)
    print("check --deploy:", (deploy.stdout + deploy.stderr).strip().splitlines()[-1])
    if deploy.returncode:
        raise SystemExit(deploy.stdout + deploy.stderr)
    fixture = write_fixture(args, env)

    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    worker_log = open(OUT / "db_worker.log", "w")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload"],
        cwd=ROOT,
        env=env,
        stdout=worker_log,
        stderr=worker_log,
    )
    since = datetime.datetime.now(datetime.UTC)
    results = []
    try:
        wait_for(f"http://127.0.0.1:{args.port}/")

        def locusts():
            return [pid for pid in _children(os.getpid()) if pid not in (gunicorn.pid, worker.pid)]

        meter = CpuMeter(
            {
                "gunicorn": lambda: [gunicorn.pid, *_children(gunicorn.pid)],
                "worker": lambda: [worker.pid, *_children(worker.pid)],
                "postgres": _postgres_backends,
                "locust": locusts,
            }
        )
        # Unmeasured: every worker loads its templates, translations and the gazetteer before the first step.
        run_step(
            max(8, args.workers * 2),
            0,
            argparse.Namespace(**{**vars(args), "seconds": 10}),
            env,
            fixture,
            args.port,
            meter,
        )
        for step, users in enumerate((int(u) for u in args.steps.split(",")), start=1):
            result = run_step(users, step, args, env, fixture, args.port, meter)
            results.append(result)
            agg = result["rows"].get("Aggregated", {})
            print(
                f"{users:4} users: {float(agg.get('Requests/s', 0)):6.1f} req/s, p50 {ms(agg, '50%')} "
                f"p95 {ms(agg, '95%')} p99 {ms(agg, '99%')} ms, errors {agg.get('Failure Count')}, "
                f"load {result['load']:.1f}",
                flush=True,
            )
    finally:
        for process in (gunicorn, worker):
            process.send_signal(signal.SIGTERM)
        for process in (gunicorn, worker):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    checks = invariants(env, since)
    text = report(results, checks, args)
    (OUT.parent / "rush_report.md").write_text(text, encoding="utf-8")
    print()
    print(text)
    if not args.keep:
        import psycopg

        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    bad = checks["lines with more held than on hand"] or checks["lines whose held ≠ active reservations"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
