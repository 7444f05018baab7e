from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalogue.onix import OnixImportReport, books_import_onix


def format_onix_report(report: OnixImportReport) -> str:
    lines = [
        f"{report.filename} : produits lus {report.products_read} · livres ajoutés {report.created} · "
        f"mis à jour {report.updated} · inchangés {report.unchanged} · rejetés {len(report.rejected)} · "
        f"retirés {report.withdrawn} · supprimés {report.deleted} · {report.duration_ms} ms"
    ]
    if report.released:
        lines.append(f"  parus (« à paraître » devenus disponibles) : {report.released}")
    for warning in report.file_warnings:
        lines.append(f"  AVERTISSEMENT FICHIER : {warning}")
    if report.file_error:
        lines.append(f"  ERREUR FICHIER : {report.file_error}")
    for problem in report.rejected:
        lines.append(
            f"  produit {problem['position']} ({problem['reference'] or '?'}) : rejeté : {problem['error']} [{problem['value']}]"
        )
    for problem in report.warnings:
        lines.append(
            f"  produit {problem['position']} ({problem['reference'] or '?'}) : avertissement : {problem['error']} [{problem['value']}]"
        )
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Importe des notices ONIX (2.1, 3.0, balises longues ou courtes) dans le catalogue : "
        "crée ou met à jour les livres, sans écraser les corrections faites à la main."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path, help="fichiers ONIX (XML)")

    def handle(self, *args, files, **options):
        failed = []
        for path in files:
            if not path.is_file():
                self.stderr.write(f"{path} : ERREUR FICHIER : fichier introuvable")
                failed.append(path)
                continue
            report = books_import_onix(source=path, filename=path.name)
            if report.failed:
                failed.append(path)
                self.stderr.write(format_onix_report(report))
            else:
                self.stdout.write(format_onix_report(report))
        if failed:
            raise CommandError(f"{len(failed)} fichier(s) sur {len(files)} illisible(s) ou incomplet(s).")
