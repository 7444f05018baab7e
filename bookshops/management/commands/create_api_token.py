from django.core.management.base import BaseCommand, CommandError

from bookshops.models import Shop
from bookshops.tokens import api_token_create


class Command(BaseCommand):
    help = (
        "Crée un jeton d'API pour le logiciel de caisse d'une librairie et l'affiche une seule fois "
        "(seul le jeton est écrit sur la sortie standard)."
    )

    def add_arguments(self, parser):
        parser.add_argument("shop", help="identifiant (slug) de la librairie")
        parser.add_argument("name", help="nom du jeton, par exemple le logiciel qui l'utilise")

    def handle(self, *args, shop, name, **options):
        try:
            shop_obj = Shop.objects.get(slug=shop)
        except Shop.DoesNotExist:
            raise CommandError(f"Librairie inconnue : {shop}") from None
        if not name.strip():
            raise CommandError("Le nom du jeton est obligatoire.")
        token, raw = api_token_create(shop=shop_obj, name=name.strip()[:100])
        self.stderr.write(f"Jeton « {token.name} » créé pour {shop_obj} ; conservez-le, il ne sera plus affiché.")
        self.stdout.write(raw)
