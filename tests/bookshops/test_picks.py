import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from bookshops.location import ReaderLocation
from bookshops.models import Shop, StaffPick
from bookshops.selectors import picks_for_home
from catalogue.models import StockLine
from demo.services import demo_load
from tests.factories import BookFactory, ContributorFactory, ShopFactory, StaffPickFactory, UserFactory

pytestmark = pytest.mark.django_db

BORDEAUX = (44.8378, -0.5792)
PAU = (43.2951, -0.3708)
BAYONNE = (43.4929, -1.4748)
HOME = reverse("catalogue:home")


def aged(pick, days):
    """Backdate a pick (created_at is auto_now_add)."""
    StaffPick.objects.filter(pk=pick.pk).update(created_at=timezone.now() - datetime.timedelta(days=days))
    return pick


@pytest.fixture
def picks():
    shop = ShopFactory(name="Librairie Mollat")
    closed = ShopFactory(name="Librairie Fermée", is_active=False)
    book = BookFactory(title="Le Mur invisible")
    ContributorFactory(book=book, name="Marlen Haushofer")
    return {
        "shown": StaffPickFactory(shop=shop, book=book, text="Un roman qui hante longtemps.", signature="Hélène"),
        "draft": StaffPickFactory(shop=shop, text="Brouillon pas encore relu.", is_published=False),
        "inactive": StaffPickFactory(shop=closed, book=book, text="Avis d'une librairie sortie du réseau."),
    }


def test_shop_page_shows_its_published_picks_only(client, picks):
    shown = picks["shown"]
    html = client.get(shown.shop.get_absolute_url()).content.decode()
    assert "Nos coups de cœur" in html
    assert shown.text in html and "Hélène" in html and "Marlen Haushofer" in html
    assert shown.book.get_absolute_url() in html
    assert picks["draft"].text not in html
    # The inactive shop has no page at all.
    assert client.get(picks["inactive"].shop.get_absolute_url()).status_code == 404


def test_shop_page_without_picks_has_no_section(client):
    html = client.get(ShopFactory().get_absolute_url()).content.decode()
    assert "Nos coups de cœur" not in html


def test_book_page_shows_picks_of_active_shops_with_a_link_to_the_shop(client, picks):
    shown = picks["shown"]
    other = StaffPickFactory(book=shown.book, shop=ShopFactory(name="La Machine à lire"), text="Bouleversant.")
    html = client.get(shown.book.get_absolute_url()).content.decode()
    heading = 'Le coup de cœur de la librairie <a href="{}">{}</a>'
    assert heading.format(shown.shop.get_absolute_url(), "Mollat") in html
    assert heading.format(other.shop.get_absolute_url(), "La Machine à lire") in html
    assert shown.text in html and other.text in html
    assert picks["inactive"].text not in html
    draft_page = client.get(picks["draft"].book.get_absolute_url()).content.decode()
    assert picks["draft"].text not in draft_page and "Le coup de cœur" not in draft_page


def test_home_shows_published_picks_of_active_shops(client, picks):
    html = client.get(HOME).content.decode()
    assert "Les coups de cœur des libraires" in html
    assert picks["shown"].text in html and picks["shown"].shop.name in html
    assert picks["draft"].text not in html and picks["inactive"].text not in html
    assert " km</span>" not in html  # no location, no distance


def test_home_without_picks_has_no_section(client):
    StaffPickFactory(is_published=False)
    assert "Les coups de cœur des libraires" not in client.get(HOME).content.decode()


@pytest.fixture
def three_shops():
    return {
        town: ShopFactory(name=f"Librairie de {town}", town=town, latitude=lat, longitude=lon)
        for town, (lat, lon) in {"Bordeaux": BORDEAUX, "Pau": PAU, "Bayonne": BAYONNE}.items()
    }


def test_home_picks_nearest_shops_first_with_a_location(three_shops):
    bordeaux = aged(StaffPickFactory(shop=three_shops["Bordeaux"]), 1)
    pau_old = aged(StaffPickFactory(shop=three_shops["Pau"]), 30)
    pau_new = aged(StaffPickFactory(shop=three_shops["Pau"]), 2)
    bayonne = aged(StaffPickFactory(shop=three_shops["Bayonne"]), 3)
    unlocated = StaffPickFactory(shop=ShopFactory(latitude=None, longitude=None))
    near_pau = ReaderLocation(43.30, -0.37, "Pau", 30)  # the radius does not hide the farther shops' picks
    picks = picks_for_home(near_pau, 10)
    # Each shop's most recent pick, nearest shop first; then the second round.
    assert [p.pk for p in picks] == [pau_new.pk, bayonne.pk, bordeaux.pk, unlocated.pk, pau_old.pk]
    assert picks[0].distance_km < 2 and 80 < picks[1].distance_km < 95 and 150 < picks[2].distance_km < 175
    assert picks[3].distance_km is None
    assert [p.pk for p in picks_for_home(near_pau, 2)] == [pau_new.pk, bayonne.pk]


def test_home_picks_most_recent_first_without_location(three_shops):
    bordeaux = aged(StaffPickFactory(shop=three_shops["Bordeaux"]), 1)
    pau = aged(StaffPickFactory(shop=three_shops["Pau"]), 5)
    bayonne = aged(StaffPickFactory(shop=three_shops["Bayonne"]), 3)
    picks = picks_for_home(None, 10)
    assert [p.pk for p in picks] == [bordeaux.pk, bayonne.pk, pau.pk]
    assert all(p.distance_km is None for p in picks)
    assert [p.pk for p in picks_for_home(None, 1)] == [bordeaux.pk]


def test_home_shows_one_pick_per_book(three_shops):
    book = BookFactory()
    aged(StaffPickFactory(shop=three_shops["Bordeaux"], book=book), 1)
    pau = aged(StaffPickFactory(shop=three_shops["Pau"], book=book), 2)
    other = aged(StaffPickFactory(shop=three_shops["Bayonne"]), 3)
    assert [p.book_id for p in picks_for_home(None, 10)] == [book.pk, other.book_id]
    near_pau = ReaderLocation(*PAU, "Pau", None)
    assert [p.pk for p in picks_for_home(near_pau, 10)] == [pau.pk, other.pk]


def test_home_page_with_location_shows_distances_in_few_queries(client, three_shops, django_assert_max_num_queries):
    for days, shop in enumerate(three_shops.values()):
        for _ in range(2):
            aged(StaffPickFactory(shop=shop, book=ContributorFactory().book), days)
    client.get(HOME)  # warm the network-figures cache and the session
    with django_assert_max_num_queries(14) as captured:
        html = client.get(HOME + "?lat=43.30&lon=-0.37").content.decode()
    pick_queries = [q for q in captured.captured_queries if "staffpick" in q["sql"].lower()]
    assert len(pick_queries) <= 4  # nearest shops, unlocated shops, pick ids, picks
    position = {town: html.find(f"Librairie de {town}</a>") for town in three_shops}
    assert -1 < position["Pau"] < position["Bayonne"] < position["Bordeaux"]
    assert " km</span>" in html


# --- Admin: a bookseller only ever touches their own shop's picks ---------------------------------


@pytest.fixture
def bookseller(client):
    shop = ShopFactory(name="Librairie du Port")
    user = UserFactory(is_staff=True, first_name="Maïa", last_name="Etcheverry")
    codenames = ["view_staffpick", "add_staffpick", "change_staffpick", "delete_staffpick", "view_book"]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    shop.staff.add(user)
    client.force_login(user)
    shop.user = user
    return shop


def test_bookseller_writes_a_pick_for_their_shop(client, bookseller):
    book = BookFactory()
    form = client.get(reverse("admin:bookshops_staffpick_add")).content.decode()
    assert "Maïa Etcheverry" in form  # signature suggested
    assert 'for="id_shop">Librairie' in form and 'for="id_book">Livre' in form
    assert f'<option value="{bookseller.pk}" selected>' in form  # their only shop preselected
    response = client.post(
        reverse("admin:bookshops_staffpick_add"),
        {"shop": bookseller.pk, "book": book.pk, "text": "Lisez-le !", "signature": "Maïa", "is_published": "on"},
    )
    assert response.status_code == 302
    pick = StaffPick.objects.get()
    assert (pick.shop, pick.book, pick.author, pick.text) == (bookseller, book, bookseller.user, "Lisez-le !")


def test_book_autocomplete_works_for_a_bookseller(client, bookseller):
    BookFactory(title="Le Mur invisible")
    url = reverse("admin:autocomplete") + "?term=invisible&app_label=bookshops&model_name=staffpick&field_name=book"
    response = client.get(url)
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Le Mur invisible"]


def test_bookseller_cannot_add_a_pick_for_another_shop(client, bookseller):
    other = ShopFactory()
    form = client.get(reverse("admin:bookshops_staffpick_add")).content.decode()
    assert f'value="{other.pk}"' not in form
    response = client.post(
        reverse("admin:bookshops_staffpick_add"),
        {"shop": other.pk, "book": BookFactory().pk, "text": "Forgé", "is_published": "on"},
    )
    assert response.status_code == 200 and "shop" in response.context["adminform"].form.errors
    assert not StaffPick.objects.exists()


def test_bookseller_cannot_see_or_change_another_shops_pick(client, bookseller):
    mine = StaffPickFactory(shop=bookseller, text="Le mien")
    foreign = StaffPickFactory(text="Celui du voisin")
    listing = client.get(reverse("admin:bookshops_staffpick_changelist")).content.decode()
    assert str(mine.book) in listing and str(foreign.book) not in listing
    assert foreign.shop.name not in listing  # not even in the shop filter
    change = reverse("admin:bookshops_staffpick_change", args=[foreign.pk])
    assert client.get(change).status_code == 302
    client.post(change, {"shop": bookseller.pk, "book": foreign.book_id, "text": "Volé", "is_published": ""})
    foreign.refresh_from_db()
    assert (foreign.shop_id, foreign.text, foreign.is_published) != (bookseller.pk, "Volé", False)
    assert foreign.text == "Celui du voisin" and foreign.is_published


def test_bookseller_cannot_move_their_pick_to_another_shop(client, bookseller):
    mine = StaffPickFactory(shop=bookseller)
    other = ShopFactory()
    response = client.post(
        reverse("admin:bookshops_staffpick_change", args=[mine.pk]),
        {"shop": other.pk, "book": mine.book_id, "text": "Ailleurs", "is_published": "on"},
    )
    assert response.status_code == 200 and "shop" in response.context["adminform"].form.errors
    mine.refresh_from_db()
    assert mine.shop == bookseller and mine.text != "Ailleurs"


def test_bulk_delete_with_a_forged_id_spares_another_shops_pick(client, bookseller):
    mine = StaffPickFactory(shop=bookseller)
    foreign = StaffPickFactory()
    changelist = reverse("admin:bookshops_staffpick_changelist")
    data = {"action": "delete_selected", "_selected_action": [mine.pk, foreign.pk], "post": "yes"}
    client.post(changelist, data)
    assert list(StaffPick.objects.all()) == [foreign]
    client.post(changelist, {"action": "unpublish", "_selected_action": [foreign.pk]})
    foreign.refresh_from_db()
    assert foreign.is_published


def test_a_second_pick_of_the_same_book_is_refused_with_a_message(client, bookseller):
    mine = StaffPickFactory(shop=bookseller)
    response = client.post(
        reverse("admin:bookshops_staffpick_add"),
        {"shop": bookseller.pk, "book": mine.book_id, "text": "Encore", "is_published": "on"},
    )
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert StaffPick.objects.count() == 1


def test_unpublish_action_hides_the_pick(client, bookseller):
    mine = StaffPickFactory(shop=bookseller)
    client.post(reverse("admin:bookshops_staffpick_changelist"), {"action": "unpublish", "_selected_action": [mine.pk]})
    assert mine.text not in client.get(bookseller.get_absolute_url()).content.decode()


# --- Demo ----------------------------------------------------------------------------------------


def test_demo_creates_picks_on_books_each_shop_holds(client):
    report = demo_load(books=200)
    picks = list(StaffPick.objects.select_related("shop", "author"))
    assert report.picks == len(picks) == 3 * Shop.objects.count()
    held = set(StockLine.objects.filter(quantity__gt=0).values_list("shop_id", "book_id"))
    assert all((p.shop_id, p.book_id) in held for p in picks)
    assert all(p.author.username == p.shop.slug and p.text and p.signature for p in picks)
    assert len({p.created_at for p in picks}) > 10  # spread over time
    html = client.get(HOME + "?near=64000").content.decode()
    assert "Les coups de cœur des libraires" in html and " km</span>" in html
    staff = picks[0].author
    assert staff.has_perm("bookshops.add_staffpick") and staff.has_perm("catalogue.view_book")


def shop_form_data(response) -> dict:
    """The POST data of an admin change form as rendered (main form and every inline formset)."""
    data = {}

    def add(form, prefix=None):
        for name, field in form.fields.items():
            key = f"{prefix}-{name}" if prefix else name
            value = form[name].value()
            if value is None or value is False:
                continue
            if isinstance(value, (list, tuple)):
                data[key] = [str(v) for v in value]
            else:
                data[key] = "on" if value is True else str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[f"{formset.prefix}-{name}"] = str(management[name].value())
        for index, form in enumerate(formset.initial_forms):
            add(form, f"{formset.prefix}-{index}")
    return data


@pytest.fixture
def shop_keeper(client, bookseller):
    bookseller.user.user_permissions.add(*Permission.objects.filter(codename__in=["view_shop", "change_shop"]))
    return bookseller


def test_bookseller_adds_a_pick_from_their_shop_page(client, shop_keeper):
    url = reverse("admin:bookshops_shop_change", args=[shop_keeper.pk])
    data = shop_form_data(client.get(url))
    book = BookFactory()
    data.update(
        {
            "picks-TOTAL_FORMS": "1",
            "picks-0-book": str(book.pk),
            "picks-0-text": "Depuis la fiche",
            "picks-0-signature": "Maïa",
            "picks-0-is_published": "on",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    pick = StaffPick.objects.get()
    assert (pick.shop, pick.book, pick.author, pick.text) == (shop_keeper, book, shop_keeper.user, "Depuis la fiche")


def test_a_forged_inline_id_cannot_touch_another_shops_pick(client, shop_keeper):
    foreign = StaffPickFactory(text="Celui du voisin")
    url = reverse("admin:bookshops_shop_change", args=[shop_keeper.pk])
    data = shop_form_data(client.get(url))
    data.update(
        {
            "picks-TOTAL_FORMS": "1",
            "picks-INITIAL_FORMS": "1",
            "picks-0-id": str(foreign.pk),
            "picks-0-shop": str(shop_keeper.pk),
            "picks-0-book": str(foreign.book_id),
            "picks-0-text": "Volé",
            "picks-0-DELETE": "on",
        }
    )
    client.post(url, data)  # the unknown id is skipped (Django's formset only looks in this shop's picks)
    foreign.refresh_from_db()  # neither deleted nor changed
    assert foreign.text == "Celui du voisin" and foreign.shop_id != shop_keeper.pk
    assert not StaffPick.objects.filter(shop=shop_keeper).exists()
    del data["picks-0-DELETE"]
    client.post(url, data)
    foreign.refresh_from_db()
    assert foreign.text == "Celui du voisin" and foreign.shop_id != shop_keeper.pk


def test_shop_and_book_pages_read_picks_in_a_constant_number_of_queries(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(url):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    shop, book = ShopFactory(), BookFactory()
    StaffPickFactory(shop=shop, book=ContributorFactory(book=book).book)
    StaffPickFactory(book=book)
    client.get(shop.get_absolute_url())  # the session, the caches
    few = count(shop.get_absolute_url()), count(book.get_absolute_url())
    for _ in range(4):
        StaffPickFactory(shop=shop, book=ContributorFactory().book)
        StaffPickFactory(book=book)
    many = count(shop.get_absolute_url()), count(book.get_absolute_url())
    assert many == few
    html = client.get(book.get_absolute_url()).content.decode()
    assert html.count("Le coup de cœur de la librairie") == 6


def test_home_picks_in_a_large_network_come_from_the_nearest_shops():
    shops = [ShopFactory(latitude=43.3 + 0.1 * i, longitude=-0.37) for i in range(12)]
    for days, shop in enumerate(reversed(shops)):  # the farthest shops wrote the most recent picks
        aged(StaffPickFactory(shop=shop), days)
    StaffPickFactory(shop=ShopFactory(latitude=None, longitude=None))
    picks = picks_for_home(ReaderLocation(43.3, -0.37, "Pau", 30), 3)
    assert [p.shop for p in picks] == shops[:3]
    assert [round(p.distance_km) for p in picks] == [0, 11, 22]
