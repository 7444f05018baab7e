"""Search: document and vocabulary tables on both databases, plus each engine's own pieces.

PostgreSQL gets the ``unaccent`` and ``pg_trgm`` extensions, a ``french_unaccent``
text search configuration (French stemming after accent removal, so stored
vectors and queries agree without calling the non-IMMUTABLE ``unaccent()``),
a GIN index on the stored vectors and a trigram GIN index on the vocabulary.
SQLite gets an FTS5 table; the migration stops with a clear message when the
SQLite library was built without FTS5. Each step does nothing on the other database.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations, models

VECTOR_INDEX = django.contrib.postgres.indexes.GinIndex(fields=["vector"], name="booksearch_vector_gin")
WORD_INDEX = django.contrib.postgres.indexes.GinIndex(
    fields=["word"], name="searchword_trgm", opclasses=["gin_trgm_ops"]
)

FTS_TABLE = "catalogue_book_fts"


class _PostgresOnlyBackwards:
    """Django's CreateExtension skips other databases going forwards, not backwards."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Unaccent(_PostgresOnlyBackwards, UnaccentExtension):
    pass


class Trigram(_PostgresOnlyBackwards, TrigramExtension):
    pass


def create_french_unaccent(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "DO $$ BEGIN "
        "IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'french_unaccent') THEN "
        "CREATE TEXT SEARCH CONFIGURATION french_unaccent (COPY = french); "
        "ALTER TEXT SEARCH CONFIGURATION french_unaccent "
        "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem; "
        "END IF; END $$"
    )


def drop_french_unaccent(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS french_unaccent")


def _postgres_indexes(apps, schema_editor, add):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name, index in (("BookSearchDocument", VECTOR_INDEX), ("SearchWord", WORD_INDEX)):
        model = apps.get_model("catalogue", model_name)
        (schema_editor.add_index if add else schema_editor.remove_index)(model, index)


def add_postgres_indexes(apps, schema_editor):
    _postgres_indexes(apps, schema_editor, add=True)


def remove_postgres_indexes(apps, schema_editor):
    _postgres_indexes(apps, schema_editor, add=False)


def create_fts5_table(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    import sqlite3

    try:
        schema_editor.execute("CREATE VIRTUAL TABLE temp.fts5_probe USING fts5(x)")
        schema_editor.execute("DROP TABLE temp.fts5_probe")
    except sqlite3.OperationalError as exc:
        raise RuntimeError(
            f"Search needs SQLite's FTS5 extension, missing from this SQLite ({sqlite3.sqlite_version}): {exc}. "
            "Use a Python built against a SQLite with FTS5, or PostgreSQL."
        ) from exc
    schema_editor.execute(
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
        "title, subtitle, contributors, collection, publisher, subjects, "
        "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4')"
    )


def drop_fts5_table(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


class Migration(migrations.Migration):

    dependencies = [
        ("catalogue", "0001_initial"),
    ]

    operations = [
        Unaccent(),
        Trigram(),
        migrations.RunPython(create_french_unaccent, drop_french_unaccent, elidable=False),
        migrations.CreateModel(
            name="BookSearchDocument",
            fields=[
                (
                    "book",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="catalogue.book",
                    ),
                ),
                ("vector", django.contrib.postgres.search.SearchVectorField(null=True)),
                ("in_stock_shops", models.PositiveIntegerField(default=0)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "document de recherche",
                "verbose_name_plural": "documents de recherche",
            },
        ),
        migrations.CreateModel(
            name="SearchWord",
            fields=[
                ("word", models.CharField(max_length=60, primary_key=True, serialize=False)),
            ],
            options={
                "verbose_name": "mot du catalogue",
                "verbose_name_plural": "mots du catalogue",
            },
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(model_name="booksearchdocument", index=VECTOR_INDEX),
                migrations.AddIndex(model_name="searchword", index=WORD_INDEX),
            ],
            database_operations=[migrations.RunPython(add_postgres_indexes, remove_postgres_indexes)],
        ),
        migrations.RunPython(create_fts5_table, drop_fts5_table),
    ]
