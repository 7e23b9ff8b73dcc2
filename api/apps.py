from django.apps import AppConfig


class ApiConfig(AppConfig):
    """What every app's API shares; as an app it owns the API-token migrations and commands."""

    name = "api"
    label = "api"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from api.token_cache import forget_changed

        # Users only: a receiver on the token model would turn the revocations' bulk deletes
        # into a select and a delete per row (api.tokens forgets for those).
        post_save.connect(forget_changed, sender=get_user_model(), dispatch_uid="token-cache")
        post_delete.connect(forget_changed, sender=get_user_model(), dispatch_uid="token-cache")
