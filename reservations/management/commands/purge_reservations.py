from django.conf import settings
from django.core.management.base import BaseCommand

from reservations.tasks import purge_personal_data


class Command(BaseCommand):
    help = "Efface les données personnelles des réservations closes depuis plus que la durée de conservation."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.RESERVATIONS_RETENTION_DAYS)
        parser.add_argument("--enqueue", action="store_true", help="confier le travail au worker des tâches")

    def handle(self, *args, **options):
        if options["enqueue"]:
            self.stdout.write(f"tâche mise en file : {purge_personal_data.enqueue(options['days']).id}")
            return
        count = purge_personal_data.call(options["days"])
        self.stdout.write(f"réservations anonymisées : {count}")
