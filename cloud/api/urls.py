from django.urls import path

from cloud.api.views import SavedAnalysisView, TradeAnalysisView

urlpatterns = [
    path("trade-analysis/", TradeAnalysisView.as_view(), name="trade-analysis"),
    path(
        "trade-analysis/<str:day>/",
        SavedAnalysisView.as_view(),
        name="trade-analysis-saved",
    ),
]
