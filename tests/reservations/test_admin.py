import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from catalogue.models import StockImport
from reservations.models import Reservation
from tests.factories import ShopFactory, StockLineFactory, UserFactory, reserve, staff_member

pytestmark = pytest.mark.django_db
S = Reservation.Status
CHANGELIST = "admin:reservations_reservation_changelist"


@pytest.fixture
def two_shops():
    mine, theirs = ShopFactory(name="Librairie Mienne"), ShopFactory(name="Librairie Autre")
    my_line = StockLineFactory(shop=mine, quantity=3)
    their_line = StockLineFactory(shop=theirs, quantity=3)
    return {
        "mine": mine,
        "theirs": theirs,
        "my_line": my_line,
        "their_line": their_line,
        "my_res": reserve(my_line, reader_name="Lecteur Mien", reader_email="m@example.org"),
        "their_res": reserve(their_line, reader_name="Lecteur Autre", reader_email="a@example.org"),
        "user": staff_member(
            mine,
            perms=(
                "reservations.view_reservation",
                "reservations.change_reservation",
                "catalogue.view_stockline",
                "catalogue.view_stockimport",
                "catalogue.add_stockimport",
                "bookshops.view_shop",
                "bookshops.change_shop",
            ),
        ),
    }


def act(client, action, ids, **extra):
    return client.post(reverse(CHANGELIST), {"action": action, ACTION_CHECKBOX_NAME: [str(i) for i in ids], **extra})


def test_staff_list_only_their_shops_reservations(client, two_shops):
    client.force_login(two_shops["user"])
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert two_shops["my_res"].reference in page
    assert two_shops["their_res"].reference not in page
    assert "Librairie Autre" not in page  # not even in the shop filter
    filtered = client.get(reverse(CHANGELIST), {"status__exact": "confirmed"}).content.decode()
    assert two_shops["my_res"].reference not in filtered


def test_staff_cannot_open_another_shops_reservation(client, two_shops):
    client.force_login(two_shops["user"])
    mine = client.get(reverse("admin:reservations_reservation_change", args=[two_shops["my_res"].pk]))
    assert mine.status_code == 200 and "Lecteur Mien" in mine.content.decode()
    theirs = client.get(reverse("admin:reservations_reservation_change", args=[two_shops["their_res"].pk]), follow=True)
    assert "Lecteur Autre" not in theirs.content.decode()
    # Sent home, which is the counter for a bookseller.
    assert theirs.redirect_chain and theirs.redirect_chain[0][0] == reverse("admin:index")
    assert theirs.redirect_chain[-1][0] == reverse("admin:reservations_counter")


def test_forged_action_post_cannot_touch_another_shop(client, two_shops, mailbox):
    client.force_login(two_shops["user"])
    their = two_shops["their_res"]
    with mailbox():
        act(client, "confirm", [their.pk])
        act(client, "collect", [their.pk])
        act(client, "cancel_with_reason", [their.pk], apply="1", reason="hack")
    their.refresh_from_db()
    assert their.status == S.REQUESTED and their.events.count() == 1
    assert mailbox.outbox == []
    # Mixed with one of theirs, only the staff's own reservation moves.
    act(client, "confirm", [their.pk, two_shops["my_res"].pk])
    their.refresh_from_db()
    two_shops["my_res"].refresh_from_db()
    assert (their.status, two_shops["my_res"].status) == (S.REQUESTED, S.CONFIRMED)


def test_confirm_collect_through_actions_record_the_user(client, two_shops, mailbox):
    client.force_login(two_shops["user"])
    mine = two_shops["my_res"]
    with mailbox():
        response = act(client, "confirm", [mine.pk])
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.status == S.CONFIRMED and mine.pickup_deadline
    assert mine.events.last().user == two_shops["user"]
    assert "vous attend" in mailbox.outbox[0].subject
    act(client, "collect", [mine.pk])
    mine.refresh_from_db()
    assert mine.status == S.COLLECTED
    two_shops["my_line"].refresh_from_db()
    assert (two_shops["my_line"].quantity, two_shops["my_line"].held) == (2, 0)
    # An action that is not allowed any more says so and changes nothing.
    response = client.post(reverse(CHANGELIST), {"action": "confirm", ACTION_CHECKBOX_NAME: [mine.pk]}, follow=True)
    assert "ne peut plus passer" in response.content.decode()
    mine.refresh_from_db()
    assert mine.status == S.COLLECTED


def test_cancel_asks_for_a_reason_first(client, two_shops, mailbox):
    client.force_login(two_shops["user"])
    mine = two_shops["my_res"]
    page = act(client, "cancel_with_reason", [mine.pk])
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    mine.refresh_from_db()
    assert mine.status == S.REQUESTED
    empty = act(client, "cancel_with_reason", [mine.pk], apply="1", reason="")
    assert empty.status_code == 200
    mine.refresh_from_db()
    assert mine.status == S.REQUESTED
    with mailbox():
        act(client, "cancel_with_reason", [mine.pk], apply="1", reason="Exemplaire abîmé")
    mine.refresh_from_db()
    assert (mine.status, mine.cancel_reason) == (S.CANCELLED, "Exemplaire abîmé")
    assert "Exemplaire abîmé" in mailbox.outbox[0].body


def test_history_is_shown_read_only(client, two_shops):
    client.force_login(two_shops["user"])
    page = client.get(reverse("admin:reservations_reservation_change", args=[two_shops["my_res"].pk])).content.decode()
    assert "Historique" in page or "historique" in page
    assert 'name="events-0-reason"' not in page


def test_association_admin_sees_everything(admin_client, two_shops):
    page = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert two_shops["my_res"].reference in page and two_shops["their_res"].reference in page


def test_staff_without_shops_see_nothing(client, two_shops):
    user = staff_member(perms=("reservations.view_reservation", "reservations.change_reservation"))
    client.force_login(user)
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert two_shops["my_res"].reference not in page and two_shops["their_res"].reference not in page


def test_catalogue_and_shop_admin_are_scoped_too(client, two_shops):
    client.force_login(two_shops["user"])
    theirs, mine = two_shops["theirs"], two_shops["mine"]
    their_import = StockImport.objects.create(shop=theirs, status=StockImport.Status.APPLIED, message="x")
    my_import = StockImport.objects.create(shop=mine, status=StockImport.Status.APPLIED, message="x")
    cases = [
        ("admin:catalogue_stockline_change", two_shops["my_line"].pk, two_shops["their_line"].pk),
        ("admin:catalogue_stockimport_change", my_import.pk, their_import.pk),
        ("admin:bookshops_shop_change", mine.pk, theirs.pk),
    ]
    for name, own, other in cases:
        assert client.get(reverse(name, args=[own])).status_code == 200, name
        response = client.get(reverse(name, args=[other]))
        assert response.status_code == 302 and response.url == reverse("admin:index"), name
    lines = client.get(reverse("admin:catalogue_stockline_changelist")).content.decode()
    assert two_shops["my_line"].book.title in lines and two_shops["their_line"].book.title not in lines
    # A forged POST on another shop's page changes nothing.
    client.post(reverse("admin:bookshops_shop_change", args=[theirs.pk]), {"name": "Piratée"})
    theirs.refresh_from_db()
    assert theirs.name == "Librairie Autre"


def test_staff_upload_cannot_target_another_shop(client, two_shops):
    client.force_login(two_shops["user"])
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("stock.csv", f"EAN;Qté\r\n{two_shops['their_line'].book.isbn};0\r\n".encode())
    client.post(reverse("admin:catalogue_stockimport_upload"), {"shop": two_shops["theirs"].pk, "file": upload})
    assert not StockImport.objects.filter(shop=two_shops["theirs"]).exists()
    two_shops["their_line"].refresh_from_db()
    assert two_shops["their_line"].quantity == 3


def test_plain_users_cannot_reach_the_admin(client, two_shops):
    client.force_login(UserFactory())
    assert client.get(reverse(CHANGELIST)).status_code == 302


def test_forged_bulk_actions_on_catalogue_and_shops_change_nothing(client, two_shops):
    from bookshops.models import Shop
    from catalogue.models import StockLine

    client.force_login(two_shops["user"])
    their_import = StockImport.objects.create(shop=two_shops["theirs"], status=StockImport.Status.APPLIED)
    for changelist, pk in (
        ("admin:catalogue_stockline_changelist", two_shops["their_line"].pk),
        ("admin:catalogue_stockimport_changelist", their_import.pk),
        ("admin:bookshops_shop_changelist", two_shops["theirs"].pk),
    ):
        client.post(reverse(changelist), {"action": "delete_selected", ACTION_CHECKBOX_NAME: [pk], "post": "yes"})
    assert StockLine.objects.filter(pk=two_shops["their_line"].pk).exists()
    assert StockImport.objects.filter(pk=their_import.pk).exists()
    assert Shop.objects.filter(pk=two_shops["theirs"].pk).exists()


def test_change_page_offers_the_next_steps_and_goes_back_to_the_filtered_list(client, two_shops, mailbox):
    client.force_login(two_shops["user"])
    mine = two_shops["my_res"]
    change = reverse("admin:reservations_reservation_change", args=[mine.pk])
    page = client.get(change, {"_changelist_filters": "status__exact=requested"}).content.decode()
    confirm = reverse("admin:reservations_counter_action", args=[mine.pk, "confirm"])
    assert f'action="{confirm}"' in page and "Mettre de côté" in page and "Annuler…" in page
    # Every field is read-only: no save button.
    assert 'name="_save"' not in page and 'name="_continue"' not in page
    assert "Retirée" not in page and "Confirmer (mis de côté)" not in page
    back = reverse(CHANGELIST) + "?status__exact=requested"
    assert f'name="next" value="{back}"' in page
    with mailbox():
        response = client.post(confirm, {"next": back})
    assert response.status_code == 302 and response.url == back  # the « à mettre de côté » filter is kept
    mine.refresh_from_db()
    assert mine.status == S.CONFIRMED
    page = client.get(change).content.decode()
    assert reverse("admin:reservations_counter_action", args=[mine.pk, "confirm"]) not in page
    assert reverse("admin:reservations_counter_action", args=[mine.pk, "collect"]) in page
    assert "Remis au lecteur" in page
