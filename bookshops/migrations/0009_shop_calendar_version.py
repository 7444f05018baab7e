from django.db import migrations, models

TABLES = ("bookshops_openinghours", "bookshops_closure")

POSTGRESQL = """
CREATE FUNCTION bookshops_calendar_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE bookshops_shop SET calendar_version = calendar_version + 1
    WHERE id IN (
        CASE WHEN TG_OP <> 'INSERT' THEN OLD.shop_id END,
        CASE WHEN TG_OP <> 'DELETE' THEN NEW.shop_id END
    );
    RETURN NULL;
END $$;
""" + "".join(
    f"""
CREATE TRIGGER {table}_calendar_bump AFTER INSERT OR UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION bookshops_calendar_bump();
"""
    for table in TABLES
)
POSTGRESQL_REVERSE = "".join(f"DROP TRIGGER {table}_calendar_bump ON {table};" for table in TABLES) + (
    "DROP FUNCTION bookshops_calendar_bump();"
)

SQLITE = [
    f"""CREATE TRIGGER {table}_calendar_bump_{op.lower()} AFTER {op} ON {table} BEGIN
        UPDATE bookshops_shop SET calendar_version = calendar_version + 1 WHERE id IN ({ids});
    END;"""
    for table in TABLES
    for op, ids in (("INSERT", "NEW.shop_id"), ("UPDATE", "OLD.shop_id, NEW.shop_id"), ("DELETE", "OLD.shop_id"))
]
SQLITE_REVERSE = [
    f"DROP TRIGGER {table}_calendar_bump_{op};" for table in TABLES for op in ("insert", "update", "delete")
]


def triggers_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_REVERSE)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("bookshops", "0008_shop_typical_confirm_delay"),
    ]

    operations = [
        migrations.AddField(
            model_name="shop",
            name="calendar_version",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
