from django.contrib import admin

from algo.models import BacktestRun, PaperSession


@admin.register(BacktestRun)
class BacktestRunAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "status", "bars", "created_at", "finished_at")
    list_filter = ("status",)
    readonly_fields = ("stats", "trades", "open_trade")


@admin.register(PaperSession)
class PaperSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "ticker", "interval", "status", "runner", "position", "fills")
    list_filter = ("status", "runner")
