"""Searches that found nothing: one counted row per query. Kept stock files: private storage, unguessable names."""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import Count, Max

import catalogue.models


def fold_search_misses(apps, schema_editor):
    SearchMiss = apps.get_model("catalogue", "SearchMiss")
    groups = (
        SearchMiss.objects.values("query").annotate(n=Count("pk"), last=Max("last_seen_at"), keep=Max("pk"))
        .filter(n__gt=1).order_by()
    )
    for group in groups.iterator():
        SearchMiss.objects.filter(pk=group["keep"]).update(count=group["n"], last_seen_at=group["last"])
        SearchMiss.objects.filter(query=group["query"]).exclude(pk=group["keep"]).delete()


def move_stock_files(apps, schema_editor):
    """Files kept under the public media root move to the private storage under a new name."""
    from django.core.files.storage import default_storage

    StockImport = apps.get_model("catalogue", "StockImport")
    private = catalogue.models.private_storage()
    for record in StockImport.objects.exclude(file="").only("pk", "shop_id", "file", "original_filename").iterator():
        old = record.file.name
        if private.exists(old) or not default_storage.exists(old):
            continue
        with default_storage.open(old, "rb") as handle:
            new = private.save(catalogue.models.stock_file_name(record, record.original_filename or old), handle)
        StockImport.objects.filter(pk=record.pk).update(file=new)
        default_storage.delete(old)


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0004_indexrefresh"),
    ]

    operations = [
        migrations.RenameField("searchmiss", "created_at", "last_seen_at"),
        migrations.AddField(
            model_name="searchmiss",
            name="count",
            field=models.PositiveIntegerField(default=1, verbose_name="fois"),
        ),
        migrations.RunPython(fold_search_misses, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="searchmiss",
            name="last_seen_at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name="dernière fois"),
        ),
        migrations.AlterField(
            model_name="searchmiss",
            name="query",
            field=models.CharField(max_length=200, unique=True, verbose_name="recherche"),
        ),
        migrations.AlterModelOptions(
            name="searchmiss",
            options={
                "ordering": ["-last_seen_at"],
                "verbose_name": "recherche sans résultat",
                "verbose_name_plural": "recherches sans résultat",
            },
        ),
        migrations.AlterField(
            model_name="stockimport",
            name="file",
            field=models.FileField(
                blank=True, storage=catalogue.models.private_storage, upload_to=catalogue.models.stock_file_name,
                verbose_name="fichier",
            ),
        ),
        migrations.RunPython(move_stock_files, migrations.RunPython.noop),
    ]
