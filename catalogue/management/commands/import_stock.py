from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bookshops.models import Shop
from catalogue.exceptions import StockImportRefused
from portal.textfiles import format_problems
from catalogue.models import StockImport
from catalogue.stock.snapshots import stock_import


def format_stock_report(record: StockImport) -> str:
    lines = [
        record.message,
        f"lignes lues {record.rows_read} · nouvelles {record.created_count} · modifiées {record.updated_count} · "
        f"inchangées {record.unchanged_count} · passées à zéro {record.zeroed_count} · "
        f"rejetées {record.rejected_count} · livres ajoutés {record.books_created_count} · {record.duration_ms} ms",
    ]
    lines += format_problems(record.problems)
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Importe le fichier de stock complet d'une librairie (instantané : ce qui n'y figure plus passe à zéro)."

    def add_arguments(self, parser):
        parser.add_argument("shop", help="identifiant (slug) de la librairie")
        parser.add_argument("file", type=Path, help="fichier CSV exporté du logiciel de la librairie")
        parser.add_argument(
            "--force", action="store_true", help="appliquer même si le fichier fait passer à zéro la plupart des titres"
        )

    def handle(self, *args, shop, file, force, **options):
        try:
            shop_obj = Shop.objects.get(slug=shop)
        except Shop.DoesNotExist:
            raise CommandError(f"Librairie inconnue : {shop}") from None
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Fichier illisible : {exc}") from None
        try:
            record = stock_import(shop=shop_obj, data=data, filename=file.name, force=force)
        except StockImportRefused as refused:
            self.stderr.write(format_stock_report(refused.stock_import))
            raise CommandError("Import refusé.") from None
        self.stdout.write(format_stock_report(record))
