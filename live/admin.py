from django.contrib import admin

from live.models import Alert, AlertRule


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("timestamp", "ticker", "direction", "change_pct", "price", "user")
    list_filter = ("direction",)
    search_fields = ("ticker",)
    date_hierarchy = "timestamp"
    raw_id_fields = ("user",)


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("user", "ticker", "threshold_pct", "window_seconds", "updated_at")
    search_fields = ("ticker", "user__username")
    raw_id_fields = ("user",)
