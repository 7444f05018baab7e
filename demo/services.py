"""Demo network: 40 shops of Aquitaine, real ONIX titles, a generated catalogue, staff accounts.

Everything is deterministic (seeded random), so two runs give the same data.
The passwords are fixed and public: demo only, never for a real site.
"""

import csv
import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.text import slugify
from stdnum import ean

from bookshops.models import OpeningHours, Shop, StaffPick
from bookshops.services import booksellers_group_sync
from catalogue.models import Book, Contributor, StockLine, Subject
from catalogue.onix import books_import_onix
from catalogue.stock.bulk import chunked
from catalogue.stock.snapshots import CHUNK, stock_import

DEMO_DIR = Path(__file__).resolve().parent / "data"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "demo-admin-2026"
STAFF_PASSWORD = "demo-libraire"
#: Invented titles beside the real ONIX ones: enough for a network's spread, each title distinct.
GENERATED_BOOKS = 600
SEED = 2026


@dataclass
class DemoReport:
    shops: int = 0
    onix_books: int = 0
    generated_books: int = 0
    stock_lines: int = 0
    picks: int = 0
    reservations: int = 0
    users: list[tuple[str, str]] = field(default_factory=list)
    skipped: bool = False


def demo_load(*, if_empty: bool = False, books: int = GENERATED_BOOKS, log=None) -> DemoReport:
    """Fill the database with the demo network; with ``if_empty``, do nothing when shops exist."""
    log = log or (lambda message: None)
    report = DemoReport()
    if if_empty and Shop.objects.exists():
        report.skipped = True
        return report
    rng = random.Random(SEED)
    with transaction.atomic():
        shops = _create_shops(rng)
    report.shops = len(shops)
    log(f"{len(shops)} librairies")

    onix_isbns = []
    for path in sorted((DEMO_DIR / "onix").glob("*.xml")):
        onix_report = books_import_onix(source=path, filename=path.name)
        onix_isbns += onix_report.isbns
    report.onix_books = len(set(onix_isbns))
    log(f"{report.onix_books} livres des notices ONIX")

    generated = _create_books(rng, books)
    report.generated_books = len(generated)
    log(f"{len(generated)} livres générés")

    report.stock_lines = _stock_shops(rng, shops, sorted(set(onix_isbns)), generated)
    log(f"{report.stock_lines} lignes de stock")
    report.users = _create_users(shops)
    report.picks = _create_picks(shops)
    log(f"{report.picks} coups de cœur")
    from figures.demo_history import demo_history_create  # the demo sits above every app (issue: demo app)

    report.reservations = demo_history_create(shops=shops)
    log(f"{report.reservations} réservations sur l'année écoulée")
    return report


def _create_shops(rng) -> list[Shop]:
    shops = []
    with (DEMO_DIR / "shops.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for index, row in enumerate(rows):
        short_name = row["name"].removeprefix("Librairie ")
        slug = slugify(f"{short_name}-{row['town']}")[:100]
        shops.append(
            Shop(
                name=row["name"],
                slug=slug,
                address=row["address"],
                postcode=row["postcode"],
                town=row["town"],
                department=row["department"],
                latitude=float(row["latitude"]),
                longitude=float(row["longitude"]),
                phone=row["phone"],
                email=f"contact@{slug}.example.org",
                website=f"https://{slug}.example.org/",
                description=f"{row['name']}, librairie indépendante à {row['town']} (boutique de démonstration).",
                offers_click_and_collect=index % 9 != 8,
                offers_postal_delivery=index % 3 == 0,
                offers_remote_orders=index % 4 != 3,
                pickup_delay_hours=rng.choice([1, 2, 2, 4, 24]),
                hold_days=rng.choice([5, 7, 7, 10, 14]),
            )
        )
    Shop.objects.bulk_create(shops)
    shops = list(Shop.objects.filter(slug__in=[s.slug for s in shops]).order_by("pk"))
    hours = []
    t = datetime.time
    for index, shop in enumerate(shops):
        morning = (t(9, 30), t(12, 30)) if index % 2 else (t(10), t(12, 30))
        afternoon = (t(14), t(19)) if index % 5 else (t(14, 30), t(19, 30))
        for weekday in range(1, 6):  # Tuesday to Saturday, closed at lunch
            hours.append(OpeningHours(shop=shop, weekday=weekday, opens=morning[0], closes=morning[1]))
            hours.append(OpeningHours(shop=shop, weekday=weekday, opens=afternoon[0], closes=afternoon[1]))
        if index % 3 == 0:  # some open on Monday afternoon
            hours.append(OpeningHours(shop=shop, weekday=0, opens=t(14), closes=t(19)))
    OpeningHours.objects.bulk_create(hours)
    return shops


FIRST_NAMES = (
    "Camille Louise Jeanne Alice Léa Chloé Inès Manon Juliette Claire Hélène Anne Sophie Marie Élise Margaux "
    "Agathe Suzanne Odile Nathalie Pierre Jean Louis Paul Antoine Julien Nicolas Thomas Mathieu Hugo Étienne "
    "Bernard Michel François Olivier Yves Rémi Gaspard Bastien Arnaud Xabi Maïa Ramuntxo Amaia"
).split()
LAST_NAMES = (
    "Martin Bernard Dubois Laurent Lefebvre Fournier Girard Bonnet Lambert Fontaine Rousseau Vincent Chevalier "
    "Garnier Faure Mercier Blanc Guérin Boyer Lacoste Labat Darrigrand Etcheverry Larrieu Castaing Lafargue "
    "Dupouy Ducasse Lalanne Baudry Mauriac Delmas Ribeyrolles Lascaux Peyrot Marsan Sarrat Haristoy Bordenave "
    "Capdevielle Puyo Laborde Sallenave Cazenave Lartigue Arrieta Goyhenetche"
).split()
#: Noun → grammatical gender, so generated titles read as French.
NOUNS = {
    "silence": "m",
    "mer": "f",
    "maison": "f",
    "jardin": "m",
    "hiver": "m",
    "été": "m",
    "nuit": "f",
    "rivière": "f",
    "forêt": "f",
    "mémoire": "f",
    "voyage": "m",
    "lettre": "f",
    "orage": "m",
    "lumière": "f",
    "fille": "f",
    "garçon": "m",
    "île": "f",
    "dune": "f",
    "estuaire": "m",
    "vigne": "f",
    "port": "m",
    "phare": "m",
    "chemin": "m",
    "colline": "f",
    "frontière": "f",
    "marée": "f",
    "oubli": "m",
    "promesse": "f",
    "secret": "m",
    "retour": "m",
}
TITLE_PATTERNS = [
    "{the} {of_place}",
    "{last} {noun}",
    "{a} à {place}",
    "L'hiver à {place}",
    "Ce que disait {the}",
    "{the} et {the2}",
    "Retour à {place}",
    "Les enfants {of}",
    "Petite histoire {of_place}",
    "Avant {the}",
    "Le goût {of}",
    "Chroniques {of_place}",
    "Une saison à {place}",
    "Mémoires {of}",
]
PLACES = [
    "Bordeaux",
    "Biarritz",
    "Sarlat",
    "Arcachon",
    "Bayonne",
    "Pau",
    "Dax",
    "Agen",
    "Nérac",
    "Périgueux",
    "Bergerac",
    "Lacanau",
    "Hendaye",
    "Soulac",
    "Brantôme",
    "Mimizan",
    "Oloron",
    "Libourne",
    "Marmande",
    "Cadillac",
    "Uzeste",
    "Capbreton",
    "l'Adour",
    "la Garonne",
    "la Dordogne",
]
PUBLISHERS = {
    "Éditions de la Garonne": ["Rive gauche", "Rive droite", "Poche Garonne"],
    "Éditions du Solstice": ["Romans", "Essais", "Solstice Jeunesse"],
    "Les Presses de l'Estuaire": ["Histoire", "Patrimoine"],
    "Le Cormoran": ["Grand large", "Petit cormoran"],
    "Éditions des Landes": ["Terroir", "Mémoire vive"],
    "Atelier du Héron": ["Bande dessinée", "Albums"],
    "Éditions Margelle": ["Poésie", "Théâtre"],
    "Castor & Loutre": ["Albums jeunesse", "Premières lectures", "Documentaires"],
    "Éditions du Piémont": ["Montagne", "Récits"],
    "La Rumeur des Pins": ["Policier", "Noir"],
}
CLIL_GENRES = [
    ("3435", "Roman"),
    ("3448", "Policier"),
    ("3377", "Histoire"),
    ("3722", "Jeunesse"),
    ("3772", "Bande dessinée"),
    ("3643", "Poésie"),
    ("3473", "Essais"),
    ("3667", "Tourisme & Voyages"),
]


def _demo_isbn(n: int) -> str:
    body = f"979109{n:06d}"
    return body + ean.calc_check_digit(body)


def _the(noun: str) -> str:
    if noun[0] in "aeéèêiîouh":
        return f"l'{noun}"
    return ("le " if NOUNS[noun] == "m" else "la ") + noun


def _of(noun: str) -> str:
    the = _the(noun)
    return "du " + noun if the.startswith("le ") else "de " + the


def _title(rng) -> str:
    pattern = rng.choice(TITLE_PATTERNS)
    noun, noun2 = rng.sample(sorted(NOUNS), 2)
    place = rng.choice(PLACES)
    title = pattern.format(
        noun=noun,
        the=_the(noun),
        the2=_the(noun2),
        of=_of(noun),
        a=("un " if NOUNS[noun] == "m" else "une ") + noun,
        last="Le dernier" if NOUNS[noun] == "m" else "La dernière",
        place=place,
        of_place=("d'" + place) if place[0] in "AEÉIOUaeéiou" and not place.startswith("l'") else "de " + place,
    )
    return title[0].upper() + title[1:]


def _create_books(rng, count: int) -> list[tuple[str, str, str, str, bool]]:
    """Generated books; returns (isbn, title, author, publisher, out of print) for the stock files."""
    from catalogue.onix import clil_names

    clil = clil_names()
    subjects = []
    for code, fallback in CLIL_GENRES:
        subject, _created = Subject.objects.get_or_create(
            scheme=Subject.Scheme.CLIL, code=code, defaults={"name": clil.get(code, fallback)}
        )
        subjects.append(subject)
    publishers = list(PUBLISHERS.items())
    books, people, rows, genre_of = [], [], [], {}
    used_titles = set()
    for n in range(count):
        isbn = _demo_isbn(n + 1)
        publisher, collections = publishers[rng.randrange(len(publishers))]
        author = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        out_of_print = rng.random() < 0.05
        title = _title(rng)
        for _attempt in range(50):
            if title not in used_titles:
                break
            title = _title(rng)
        else:  # the patterns are exhausted (thousands of books asked): number the title
            title = f"{title} ({n + 1})"
        used_titles.add(title)
        books.append(
            Book(
                isbn=isbn,
                title=title,
                publisher=publisher,
                collection=rng.choice(collections),
                published_on=datetime.date(2026, 1, 1) - datetime.timedelta(days=rng.randrange(30 * 365)),
                page_count=rng.randrange(48, 640),
                language="fre",
                summary=f"{title} : un livre de démonstration, inventé pour le portail.",
                availability=Book.Availability.OUT_OF_PRINT if out_of_print else Book.Availability.AVAILABLE,
            )
        )
        translator = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}" if rng.random() < 0.15 else ""
        people.append((isbn, author, translator))
        genre_of[isbn] = subjects[rng.randrange(len(subjects))]
        rows.append((isbn, title, author, publisher, out_of_print))
    existing = set(Book.objects.filter(isbn__startswith="979109").values_list("isbn", flat=True))
    books = [b for b in books if b.isbn not in existing]
    with transaction.atomic():
        for batch in chunked(books, CHUNK):
            Book.objects.bulk_create(batch)
        ids = dict(Book.objects.filter(isbn__in=[b.isbn for b in books]).values_list("isbn", "id"))
        contributors = []
        for isbn, author, translator in people:
            if isbn in ids:
                contributors.append(Contributor(book_id=ids[isbn], name=author, role=Contributor.Role.AUTHOR))
                if translator:
                    contributors.append(
                        Contributor(book_id=ids[isbn], name=translator, role=Contributor.Role.TRANSLATOR, position=1)
                    )
        for batch in chunked(contributors, CHUNK):
            Contributor.objects.bulk_create(batch)
        through = Book.subjects.through
        links = [through(book_id=ids[isbn], subject_id=genre_of[isbn].pk) for isbn in ids]
        for batch in chunked(links, CHUNK):
            through.objects.bulk_create(batch)
    return rows


def _stock_shops(rng, shops, onix_isbns, generated) -> int:
    """One snapshot file per shop, through the real stock import: popular titles everywhere, rare ones once."""
    per_shop = {shop.pk: [] for shop in shops}
    catalogue = [(isbn, "", "", "", False) for isbn in onix_isbns] + generated
    for rank, (isbn, title, author, publisher, out_of_print) in enumerate(catalogue):
        if out_of_print:
            holders = 1  # the last copy on one shelf
        else:
            popularity = 1 / (1 + rank / 60) ** 0.8  # Zipf-like: a few bestsellers, a long tail
            holders = max(1, min(len(shops), round(len(shops) * popularity * rng.uniform(0.5, 1))))
        price = Decimal(rng.randrange(590, 3500, 10)) / 100
        for shop in rng.sample(shops, holders):
            quantity = rng.choice([1, 1, 1, 2, 2, 3, 5]) if holders > 1 else 1
            per_shop[shop.pk].append((isbn, quantity, price, title, author, publisher))
    lines = 0
    for shop in shops:
        rows = per_shop[shop.pk]
        out = ["EAN;Qté;Prix TTC;Titre;Auteur;Éditeur"]
        for isbn, quantity, price, title, author, publisher in rows:
            cells = [isbn, str(quantity), f"{price}".replace(".", ","), title, author, publisher]
            out.append(";".join(cell.replace(";", ",") for cell in cells))
        stock_import(shop=shop, data=("\n".join(out) + "\n").encode("utf-8"), filename=f"stock-{shop.slug}.csv")
        lines += len(rows)
    return lines


def _create_users(shops) -> list[tuple[str, str]]:
    User = get_user_model()
    group = booksellers_group_sync()
    accounts = []
    admin = User.objects.filter(username=ADMIN_USERNAME).first()
    if admin is None:
        User.objects.create_superuser(ADMIN_USERNAME, "admin@example.org", ADMIN_PASSWORD)
        accounts.append((ADMIN_USERNAME, ADMIN_PASSWORD))
    # One hash for the shared demo password: hashing it 40 times would take most of the run.
    staff_hash = make_password(STAFF_PASSWORD)
    for shop in shops:
        user, created = User.objects.get_or_create(
            username=shop.slug[:150],
            defaults={"email": shop.email, "is_staff": True, "first_name": shop.name[:150], "password": staff_hash},
        )
        if created:
            accounts.append((user.username, STAFF_PASSWORD))
        user.groups.add(group)
        shop.staff.add(user)
    return accounts


PICKS_PER_SHOP = 3
PICK_TEXTS = [
    "On l'a lu d'une traite, un dimanche de pluie : une écriture limpide et des personnages qu'on n'oublie pas.",
    "Le livre que nous glissons dans les mains de tous ceux qui nous demandent « un bon roman ». Jamais déçus.",
    "Drôle, tendre et d'une justesse rare. Notre libraire jeunesse le relit chaque année.",
    "Une enquête qui vous tient jusqu'à la dernière page, et une région décrite comme on l'aime.",
    "Un petit éditeur, un grand livre : à découvrir avant que tout le monde en parle.",
    "Idéal à offrir, et encore mieux à garder pour soi. Coup de cœur de toute l'équipe !",
    "Quelques pages suffisent pour être embarqué. On en sort un peu changé.",
    "Un texte court et lumineux, parfait pour reprendre goût à la lecture.",
    "Pour ceux qui aiment les histoires de famille, les secrets et les paysages de l'Atlantique.",
    "Un classique que l'on redécouvre avec bonheur : la traduction est superbe.",
]


def _create_picks(shops) -> int:
    """A few "coups de cœur" per shop, on books it holds, signed by a bookseller; spread over the last weeks."""
    rng = random.Random(SEED + 1)  # its own sequence: adding picks changes nothing else in the demo
    held = {shop.pk: [] for shop in shops}
    lines = StockLine.objects.filter(shop__in=shops, quantity__gt=0).order_by("shop_id", "book_id")
    for shop_id, book_id in lines.values_list("shop_id", "book_id"):
        held[shop_id].append(book_id)
    staff = dict(
        get_user_model()
        .objects.filter(shops__in=shops, username__in=[s.slug[:150] for s in shops])
        .values_list("username", "pk")
    )
    existing = set(StaffPick.objects.filter(shop__in=shops).values_list("shop_id", "book_id"))
    now = datetime.datetime.now(datetime.UTC)
    picks = []
    for shop in shops:
        books = held[shop.pk]
        for book_id in rng.sample(books, min(PICKS_PER_SHOP, len(books))):
            if (shop.pk, book_id) in existing:
                continue
            picks.append(
                StaffPick(
                    shop=shop,
                    book_id=book_id,
                    text=rng.choice(PICK_TEXTS),
                    author_id=staff.get(shop.slug[:150]),
                    signature=rng.choice(FIRST_NAMES),
                    created_at=now - datetime.timedelta(hours=rng.randrange(24 * 60)),
                )
            )
    # created_at is auto_now_add, which bulk_create overwrites: set the spread dates afterwards.
    dates = {(p.shop_id, p.book_id): p.created_at for p in picks}
    StaffPick.objects.bulk_create(picks)
    saved = list(StaffPick.objects.filter(shop__in=shops, book_id__in={p.book_id for p in picks}))
    saved = [p for p in saved if (p.shop_id, p.book_id) in dates]
    for pick in saved:
        pick.created_at = dates[(pick.shop_id, pick.book_id)]
    StaffPick.objects.bulk_update(saved, ["created_at"])
    return len(picks)
