from django.urls import path
from rest_framework.routers import SimpleRouter

from live.api.views import AlertRulesView, AlertViewSet

router = SimpleRouter()
router.register("alerts", AlertViewSet, basename="alert")

urlpatterns = [
    *router.urls,
    path("alert-rules/", AlertRulesView.as_view(), name="alert-rules"),
]
