import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from catalogue.search import search_index_rebuild
from catalogue.tasks import index_refresh_pending


class Command(BaseCommand):
    help = "Rebuild the search index of every book of the catalogue (--pending: only the refreshes left to do)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--pending",
            action="store_true",
            help="only the refreshes after imports and edits that failed or that a stopped worker left (cron)",
        )

    def handle(self, *args, **options):
        started = time.monotonic()
        if options["pending"]:
            counts = index_refresh_pending()
            self.stdout.write(
                _("Mises à jour de l'index faites : %(done)s, en échec : %(failed)s")
                % {"done": counts["done"], "failed": counts["failed"]}
            )
            return

        def progress(done, total):
            percent = 100 * done // total if total else 100
            line = _("%(done)s/%(total)s livres indexés (%(percent)s %%)") % {
                "done": done,
                "total": total,
                "percent": percent,
            }
            self.stdout.write("\r" + line, ending="")
            self.stdout.flush()

        done = search_index_rebuild(progress=progress)
        self.stdout.write("")
        summary = _("Index reconstruit : %(done)s livres en %(seconds).1f s.") % {
            "done": done,
            "seconds": time.monotonic() - started,
        }
        self.stdout.write(self.style.SUCCESS(summary))
