from django.apps import AppConfig


class CloudConfig(AppConfig):
    name = "cloud"
    verbose_name = "Trade export and analysis"

    def ready(self) -> None:
        # Registers the configuration checks run by `manage.py check`, runserver and migrate.
        from cloud import checks  # noqa: F401
