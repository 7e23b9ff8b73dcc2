from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.health import healthz, readyz
from config.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="schema")),
        name="swagger-ui",
    ),
    path("api/", include("api.urls")),
    path("api/", include("ledger.api.urls")),
    path("api/", include("live.api.urls")),
    path("web/", include("live.web")),
    path("", include("web.urls")),
    path("api/", include("cloud.api.urls")),
    path("api/", include("algo.api.urls")),
    path("api-auth/", include("rest_framework.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
]

# JSON instead of HTML on /api/ paths when DJANGO_DEBUG=0 (api/errors.py).
handler400 = "api.errors.bad_request"
handler500 = "api.errors.server_error"
