from django.core.management.base import BaseCommand

from reservations.tasks import send_digest


class Command(BaseCommand):
    help = (
        "Envoie le récapitulatif quotidien des réservations à mettre de côté aux librairies qui l'ont choisi "
        "(une fois par jour : à lancer chaque matin, par cron)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--enqueue", action="store_true", help="confier le travail au worker des tâches")

    def handle(self, *args, **options):
        if options["enqueue"]:
            self.stdout.write(f"tâche mise en file : {send_digest.enqueue().id}")
            return
        self.stdout.write(f"récapitulatifs envoyés : {send_digest.call()}")
