from django.apps import AppConfig


class AlgoConfig(AppConfig):
    name = "algo"
    verbose_name = "Strategies: backtests and paper trading"
    default_auto_field = "django.db.models.BigAutoField"
