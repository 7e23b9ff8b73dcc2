from django.urls import path
from rest_framework.routers import SimpleRouter

from algo.api.views import BacktestViewSet, PaperSessionViewSet, PositionsView

router = SimpleRouter()
router.register("backtests", BacktestViewSet, basename="backtest")
router.register("paper-sessions", PaperSessionViewSet, basename="paper-session")

urlpatterns = [
    path(
        "backtests/<int:pk>/plot.png",
        BacktestViewSet.as_view({"get": "plot_png"}),
        name="backtest-plot-png",
    ),
    path(
        "backtests/<int:pk>/plot.html",
        BacktestViewSet.as_view({"get": "plot_html"}),
        name="backtest-plot-html",
    ),
    *router.urls,
    path("positions/", PositionsView.as_view(), name="positions"),
]
