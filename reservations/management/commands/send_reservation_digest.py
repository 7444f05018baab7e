from django.core.management.base import BaseCommand

from reservations.digest import reservations_digest_send


class Command(BaseCommand):
    help = ("Envoie le récapitulatif quotidien des réservations à mettre de côté aux librairies qui l'ont choisi "
            "(une fois par jour : à lancer chaque matin, par cron).")

    def handle(self, *args, **options):
        sent = reservations_digest_send()
        self.stdout.write(f"récapitulatifs envoyés : {sent}")
