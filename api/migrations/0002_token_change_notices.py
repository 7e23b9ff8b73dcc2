"""On PostgreSQL, every change to API tokens or users sends a notice on channel
``tradepulse_auth``, after which every web process forgets the token checks it remembers
(``api.token_cache``). Statement-level triggers: one notice per statement, whatever the rows."""

from django.conf import settings
from django.db import migrations

from api.token_cache import CHANNEL
from api.token_cache import TRIGGER as FUNCTION


def _tables(apps):
    user_app, user_model = settings.AUTH_USER_MODEL.split(".")
    return [
        apps.get_model(user_app, user_model)._meta.db_table,
        apps.get_model("knox", "AuthToken")._meta.db_table,
    ]


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    schema_editor.execute(
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$"
    )
    for table in _tables(apps):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {FUNCTION} ON {quote(table)}")
        schema_editor.execute(
            f"CREATE TRIGGER {FUNCTION} AFTER UPDATE OR DELETE OR TRUNCATE ON {quote(table)} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in _tables(apps):
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {FUNCTION} ON {schema_editor.quote_name(table)}"
        )
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_drop_cleartext_tokens"),
        ("knox", "0009_extend_authtoken_field"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
