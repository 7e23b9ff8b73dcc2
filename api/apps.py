from django.apps import AppConfig


class ApiConfig(AppConfig):
    """What every app's API shares; as an app it owns the API-token migrations and commands."""

    name = "api"
    label = "api"
    default_auto_field = "django.db.models.BigAutoField"
