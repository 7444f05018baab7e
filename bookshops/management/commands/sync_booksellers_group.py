from django.core.management.base import BaseCommand

from bookshops.services import booksellers_group_sync


class Command(BaseCommand):
    help = "Crée le groupe « Libraires » ou remet ses permissions à jour (à lancer après chaque migrate)."

    def handle(self, *args, **options):
        group = booksellers_group_sync()
        self.stdout.write(f"Groupe « {group.name} » : {group.permissions.count()} permissions.")
