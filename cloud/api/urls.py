from django.urls import path

from cloud.api.views import ExportEnqueueView, SavedAnalysisView, TradeAnalysisView

urlpatterns = [
    path("exports/", ExportEnqueueView.as_view(), name="exports-enqueue"),
    path("trade-analysis/", TradeAnalysisView.as_view(), name="trade-analysis"),
    path(
        "trade-analysis/<str:day>/",
        SavedAnalysisView.as_view(),
        name="trade-analysis-saved",
    ),
]
