import datetime

from django.core.management.base import BaseCommand, CommandError

from figures.services import figures_refresh


class Command(BaseCommand):
    help = (
        "Recalcule les chiffres du réseau (/admin/figures/) : par défaut les deux derniers mois, "
        "à lancer régulièrement (cron, toutes les 15 minutes par exemple) ; --since AAAA-MM pour tout refaire depuis un mois."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="premier mois à recalculer, AAAA-MM")

    def handle(self, *args, since=None, **options):
        if since:
            try:
                since = datetime.datetime.strptime(since, "%Y-%m").date()
            except ValueError:
                raise CommandError("--since attend un mois sous la forme AAAA-MM, par exemple 2026-01.") from None
        refresh = figures_refresh(since=since)
        self.stdout.write(f"Chiffres recalculés depuis {refresh.since:%Y-%m} en {refresh.duration_ms / 1000:.1f} s.")
