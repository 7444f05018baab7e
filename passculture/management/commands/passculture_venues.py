from django.core.management.base import BaseCommand, CommandError

from passculture.client import PassCultureError
from passculture.services import PassCultureNotConfigured, client_make, venues_link


class Command(BaseCommand):
    help = (
        "Liste les lieux que les structures ont ouverts au fournisseur pass Culture de l'association, relie chaque "
        "librairie à son lieu par SIRET et, avec --notification-url, indique au pass Culture où notifier les réservations."
    )

    def add_arguments(self, parser):
        parser.add_argument("--notification-url", help="https://<portail>/passculture/notifications")

    def handle(self, *args, notification_url, **options):
        try:
            with client_make() as client:
                result = venues_link(client=client)
                if notification_url:
                    client.provider_update(notification_url=notification_url)
                    self.stdout.write(f"Notifications envoyées à {notification_url}")
        except (PassCultureNotConfigured, PassCultureError) as exc:
            raise CommandError(str(exc)) from exc
        for venue in result["venues"]:
            self.stdout.write(
                f"lieu {venue['id']} · SIRET {venue.get('siret') or '—'} · "
                f"{venue.get('publicName') or venue.get('legalName') or ''}"
            )
        for shop in result["linked"]:
            self.stdout.write(f"relié : {shop.slug} → lieu {shop.passculture_venue_id}")
        for shop in result["not_found"]:
            self.stdout.write(f"sans lieu : {shop.slug} (SIRET {shop.siret})")
