from django.apps import AppConfig


class ApiConfig(AppConfig):
    """What every app's API shares; as an app it owns the API-token migrations and commands."""

    name = "api"
    label = "api"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save
        from knox.models import get_token_model

        from api.token_cache import forget_changed

        for model in (get_user_model(), get_token_model()):
            post_save.connect(forget_changed, sender=model, dispatch_uid="token-cache")
            post_delete.connect(forget_changed, sender=model, dispatch_uid="token-cache")
