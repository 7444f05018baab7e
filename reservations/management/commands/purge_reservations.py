from django.conf import settings
from django.core.management.base import BaseCommand

from reservations.services import reservations_purge_personal_data


class Command(BaseCommand):
    help = "Efface les données personnelles des réservations closes depuis plus que la durée de conservation."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.RESERVATIONS_RETENTION_DAYS)

    def handle(self, *args, **options):
        count = reservations_purge_personal_data(days=options["days"])
        self.stdout.write(f"réservations anonymisées : {count}")
