import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from demo.services import ADMIN_PASSWORD, ADMIN_USERNAME, GENERATED_BOOKS, STAFF_PASSWORD, demo_load

User = get_user_model()


class Command(BaseCommand):
    help = (
        "Remplit une base vide avec le réseau de démonstration : 40 librairies d'Aquitaine, des livres réels "
        "(notices ONIX) et 600 livres inventés (titres tous différents), leurs stocks et des comptes de démonstration."
    )

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="ne rien faire si des librairies existent déjà")
        parser.add_argument("--books", type=int, default=GENERATED_BOOKS, help="nombre de livres inventés")

    def handle(self, *args, if_empty, books, **options):
        started = time.monotonic()
        report = demo_load(if_empty=if_empty, books=books, log=lambda message: self.stdout.write(f"  {message}"))
        if report.skipped:
            self.stdout.write("Des librairies existent déjà : données de démonstration non chargées.")
            if User.objects.filter(username=ADMIN_USERNAME).exists():
                self.stdout.write(
                    f"Comptes de démonstration : {ADMIN_USERNAME} / {ADMIN_PASSWORD} (association), "
                    f"<identifiant de la librairie> / {STAFF_PASSWORD} (libraires)."
                )
            return
        self.stdout.write(self.style.SUCCESS(f"Réseau de démonstration chargé en {time.monotonic() - started:.1f} s."))
        if report.users:
            self.stdout.write(
                self.style.WARNING(
                    "Comptes de DÉMONSTRATION (mots de passe publics, à ne jamais utiliser en production) :"
                )
            )
            admin = [u for u in report.users if u[0] == "admin"]
            staff = [u for u in report.users if u[0] != "admin"]
            for username, password in admin:
                self.stdout.write(f"  association : {username} / {password}")
            if staff:
                self.stdout.write(
                    f"  libraires ({len(staff)} comptes, identifiant = identifiant de la librairie), par exemple :"
                )
                for username, password in staff[:3]:
                    self.stdout.write(f"    {username} / {password}")
                self.stdout.write(f"  tous les comptes de libraires ont le mot de passe « {staff[0][1]} ».")
