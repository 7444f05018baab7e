from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bookshops.models import Shop
from catalogue.exceptions import StockImportRefused
from catalogue.models import StockImport
from catalogue.stock.snapshots import stock_import
from portal.textfiles import format_problems


def format_stock_report(record: StockImport) -> str:
    lines = [
        record.message,
        f"lignes lues {record.rows_read} · nouvelles {record.created_count} · modifiées {record.updated_count} · "
        f"inchangées {record.unchanged_count} · passées à zéro {record.zeroed_count} · "
        f"rejetées {record.rejected_count} · avertissements {record.warning_count} · "
        f"livres ajoutés {record.books_created_count} · {record.duration_ms} ms",
    ]
    lines += format_problems(record.problems)
    if record.problems_left_out:
        counts = ", ".join(f"{kind} {count}" for kind, count in sorted(record.problem_counts.items()))
        lines.append(f"  … et {record.problems_left_out} autres problèmes (par type : {counts})")
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
            handle = file.open("rb")
        except OSError as exc:
            raise CommandError(f"Fichier illisible : {exc}") from None
        shown = {}

        def progress(record):
            step = (record.phase, record.rows_read // 50_000)
            if shown.get("step") != step:
                shown["step"] = step
                self.stderr.write(f"{record.get_phase_display()} : {record.rows_read} lignes lues")

        try:
            with handle:
                record = stock_import(shop=shop_obj, file=handle, filename=file.name, force=force, progress=progress)
        except StockImportRefused as refused:
            self.stderr.write(format_stock_report(refused.stock_import))
            failed = refused.stock_import.status == StockImport.Status.FAILED
            raise CommandError("Import échoué." if failed else "Import refusé.") from None
        self.stdout.write(format_stock_report(record))
