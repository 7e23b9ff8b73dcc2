from rest_framework.routers import DefaultRouter

from ledger.api.views import TradeViewSet

router = DefaultRouter()
router.register("trades", TradeViewSet, basename="trade")

urlpatterns = router.urls
