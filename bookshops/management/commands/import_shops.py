from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bookshops.exceptions import ShopFileError
from bookshops.services import ShopImportReport, shops_import
from portal.textfiles import format_problems


def format_shop_report(report: ShopImportReport) -> str:
    lines = [
        f"encodage {report.encoding} · séparateur {report.delimiter!r} · lignes lues {report.rows_read} · "
        f"créées {len(report.created)} · modifiées {len(report.updated)} · inchangées {len(report.unchanged)} · "
        f"rejetées {report.rejected_count}",
    ]
    lines += format_problems(report.problems)
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Crée ou met à jour les librairies membres depuis un tableur CSV (par identifiant ou par nom)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="fichier CSV : nom, adresse, code postal, ville, SIRET…")

    def handle(self, *args, file, **options):
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Fichier illisible : {exc}") from None
        try:
            report = shops_import(data=data)
        except ShopFileError as exc:
            raise CommandError(f"Import refusé, rien n'a changé. {exc}") from None
        self.stdout.write(format_shop_report(report))
