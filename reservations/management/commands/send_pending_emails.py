from django.core.management.base import BaseCommand

from reservations.emails import email_send_pending


class Command(BaseCommand):
    help = "Renvoie les e-mails de réservation qui n'ont pas pu partir."

    def handle(self, *args, **options):
        report = email_send_pending()
        self.stdout.write(f"e-mails envoyés : {report['sent']}, en échec : {report['failed']}")
