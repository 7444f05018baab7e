from django.core.management.base import BaseCommand

from orders.tasks import expire_due


class Command(BaseCommand):
    help = "Expire stale orders and alerts and retry their pending e-mails (cron, every few minutes)."

    def handle(self, *args, **options):
        report = expire_due.call()
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in report.items()))
