from django.core.management.base import BaseCommand

from reservations.emails import email_send_pending
from reservations.services import reservations_expire_due


class Command(BaseCommand):
    help = "Relance les librairies, fait expirer les réservations échues et renvoie les e-mails en attente (cron)."

    def handle(self, *args, **options):
        report = reservations_expire_due()
        emails = email_send_pending()
        self.stdout.write(
            f"relances : {report['reminded']}, expirées non confirmées : {report['expired_unconfirmed']}, "
            f"expirées non retirées : {report['expired_uncollected']}, "
            f"e-mails envoyés : {emails['sent']}, en échec : {emails['failed']}"
        )
