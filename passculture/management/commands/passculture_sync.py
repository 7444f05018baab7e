from django.core.management.base import BaseCommand

from passculture.services import bookings_sync, stock_push

from ._shops import run_report, shops_selected


class Command(BaseCommand):
    help = (
        "Envoie au pass Culture tout le stock des librairies nommées (par défaut, de toutes celles dont l'envoi "
        "est activé), puis relève leurs réservations : la resynchronisation de chaque nuit."
    )

    def add_arguments(self, parser):
        parser.add_argument("shops", nargs="*", metavar="shop-slug")
        parser.add_argument(
            "--changes",
            action="store_true",
            help="n'envoyer que les lignes modifiées restées en attente (rattrapage périodique)",
        )
        parser.add_argument(
            "--bookings",
            action="store_true",
            help="ne relire que les réservations encore ouvertes (toutes les quelques minutes)",
        )

    def handle(self, *args, shops, changes, bookings, **options):
        failed = False
        for shop in shops_selected(shops):
            runs = [] if bookings else [stock_push(shop_id=shop.pk, full=not changes)]
            if bookings or not changes:
                runs.append(bookings_sync(shop_id=shop.pk, full=not bookings))
            for run in runs:
                self.stdout.write(run_report(run))
                failed |= run.status == run.Status.FAILED
        if failed:
            raise SystemExit(1)
