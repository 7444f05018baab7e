from django.core.management.base import BaseCommand

from reservations.tasks import expire_due


class Command(BaseCommand):
    help = "Relance les librairies, fait expirer les réservations échues et renvoie les e-mails en attente (cron)."

    def add_arguments(self, parser):
        parser.add_argument("--enqueue", action="store_true", help="confier le travail au worker des tâches")

    def handle(self, *args, **options):
        if options["enqueue"]:
            self.stdout.write(f"tâche mise en file : {expire_due.enqueue().id}")
            return
        report = expire_due.call()
        emails = report["emails"]
        self.stdout.write(
            f"relances : {report['reminded']}, expirées non confirmées : {report['expired_unconfirmed']}, "
            f"expirées non retirées : {report['expired_uncollected']}, "
            f"e-mails envoyés : {emails['sent']}, en échec : {emails['failed']}"
        )
