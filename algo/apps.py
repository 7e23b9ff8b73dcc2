from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_save


class AlgoConfig(AppConfig):
    name = "algo"
    verbose_name = "Strategies: backtests and paper trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from algo.models import PaperSession

        post_save.connect(_session_saved, sender=PaperSession, dispatch_uid="algo-feed-start")


def _session_saved(sender, instance, created, **kwargs) -> None:
    """A session the feed drives gets ticks at once, not only once someone opens a page with
    live prices: the in-process feed starts when the session is stored."""
    if created and instance.runner == "feed" and instance.status == "running":
        from live.runtime import ensure_started

        transaction.on_commit(ensure_started)
