import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from stdnum import ean

from bookshops.models import OpeningHours, Shop
from catalogue.models import Book, Contributor, StockLine


def make_isbn(n: int) -> str:
    body = f"978{n:09d}"
    return body + ean.calc_check_digit(body)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("secret-pass-123")


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Librairie {n}")
    slug = factory.Sequence(lambda n: f"librairie-{n}")
    address = "1 rue des Libraires"
    postcode = "33000"
    town = "Bordeaux"
    department = "33"
    latitude = 44.8378
    longitude = -0.5792
    phone = "05 56 00 00 00"
    email = factory.LazyAttribute(lambda s: f"{s.slug}@example.org")

    @factory.post_generation
    def open_every_day(shop, create, extracted, **kwargs):
        """Open 10:00-19:00 Monday to Saturday unless told otherwise."""
        if not create or extracted is False:
            return
        OpeningHours.objects.bulk_create(
            OpeningHours(shop=shop, weekday=day, opens=datetime.time(10), closes=datetime.time(19)) for day in range(6)
        )


class BookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Book

    isbn = factory.Sequence(lambda n: make_isbn(100000 + n))
    title = factory.Sequence(lambda n: f"Livre numéro {n}")
    publisher = "Éditions du Réseau"


class ContributorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contributor

    book = factory.SubFactory(BookFactory)
    name = "Régine Pernoud"
    role = Contributor.Role.AUTHOR


class StockLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLine

    shop = factory.SubFactory(ShopFactory)
    book = factory.SubFactory(BookFactory)
    quantity = 3
    held = 0
    price = Decimal("22.00")
    changed_at = factory.LazyFunction(timezone.now)


def staff_member(*shops, perms=("reservations.view_reservation", "reservations.change_reservation")):
    """A bookseller: staff of ``shops`` with the given model permissions."""
    from django.contrib.auth.models import Permission

    user = UserFactory(is_staff=True)
    for shop in shops:
        shop.staff.add(user)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def reserve(line, **kwargs):
    """A reservation made the way a reader makes it, through the service."""
    from reservations.services import reservation_create

    values = {"quantity": 1, "reader_name": "Jeanne Lecture", "reader_email": "jeanne@example.org"}
    values.update(kwargs)
    return reservation_create(stock_line=line, **values)


class StaffPickFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "bookshops.StaffPick"

    shop = factory.SubFactory(ShopFactory)
    book = factory.SubFactory(BookFactory)
    text = factory.Sequence(lambda n: f"Un livre qu'on adore, recommandation numéro {n}.")
    signature = "Camille"
