"""API tokens used to be kept in clear (``rest_framework.authtoken``); they are now hashed
(django-rest-knox). The old table is dropped with every token in it: each client needs a new
token (``manage.py create_api_token USERNAME`` or ``POST /api/auth/login/``)."""

from django.db import migrations


def forget_old_token_app(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    # Cascades to the old app's permissions.
    content_type.objects.filter(app_label="authtoken").delete()
    schema_editor.execute("DELETE FROM django_migrations WHERE app = 'authtoken'")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", migrations.RunSQL.noop),
        migrations.RunPython(forget_old_token_app, migrations.RunPython.noop),
    ]
