from django.conf import settings
from django.core.management.base import BaseCommand

from catalogue.search import search_misses_purge


class Command(BaseCommand):
    help = "Oublie les recherches sans résultat qui n'ont pas été refaites depuis la durée de conservation."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.SEARCH_MISS_RETENTION_DAYS)

    def handle(self, *args, **options):
        count = search_misses_purge(days=options["days"])
        self.stdout.write(f"recherches sans résultat oubliées : {count}")
