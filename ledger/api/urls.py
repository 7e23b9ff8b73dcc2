from rest_framework.routers import DefaultRouter

from ledger.api.views import TradeViewSet


# No format suffixes (/api/trades.json): the format is chosen with the Accept header, as on
# every other list of the API.
class _Router(DefaultRouter):
    include_format_suffixes = False


router = _Router()
router.register("trades", TradeViewSet, basename="trade")

urlpatterns = router.urls
