from django.contrib import admin

from ledger.models import IdempotencyKey, Trade


@admin.register(Trade)
class TradeAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "ticker", "side", "price", "quantity", "timestamp", "source")
    list_filter = ("side", "source")
    search_fields = ("ticker", "owner__username")
    date_hierarchy = "timestamp"
    readonly_fields = ("created_at", "updated_at", "source", "source_ref")
    raw_id_fields = ("owner",)
    show_full_result_count = False  # no COUNT(*) over a large ledger

    def save_model(self, request, obj, form, change):
        obj.ticker = obj.ticker.strip().upper()
        if not change:
            obj.source = Trade.Source.ADMIN
        super().save_model(request, obj, form, change)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ("owner", "key", "state", "response_status", "created_at")
    readonly_fields = ("owner", "key", "request_hash", "state", "response_status", "response_body")
