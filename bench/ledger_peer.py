"""The peer: what a developer writes first with DRF — a ModelViewSet, a ModelSerializer,
django-filter with ``iexact``/``gte``/``lte`` lookups and page-number pagination, on the same
``ledger_trade`` table. Mounted beside the real API only while benchmarking."""

from django.urls import include, path
from django_filters import rest_framework as filters
from knox.auth import TokenAuthentication
from rest_framework import authentication, pagination, routers, serializers, throttling, viewsets

from ledger.models import Trade
from ledger.representation import FIELDS


class PeerTradeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Trade
        fields = FIELDS
        read_only_fields = ("id", "source", "created_at", "updated_at")


class PeerTradeFilter(filters.FilterSet):
    ticker = filters.CharFilter(lookup_expr="iexact")
    side = filters.CharFilter(lookup_expr="iexact")
    start_date = filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    end_date = filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lte")

    class Meta:
        model = Trade
        fields = ["ticker", "side", "start_date", "end_date"]


class PeerPagination(pagination.PageNumberPagination):
    page_size = 100


class PeerTradeViewSet(viewsets.ModelViewSet):
    # Stock classes, as the DRF and django-rest-knox documentation set them up.
    authentication_classes = [
        TokenAuthentication,
        authentication.SessionAuthentication,
    ]
    throttle_classes = [throttling.AnonRateThrottle, throttling.UserRateThrottle]
    serializer_class = PeerTradeSerializer
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = PeerTradeFilter
    pagination_class = PeerPagination

    def get_queryset(self):
        return Trade.objects.filter(owner=self.request.user).order_by("-timestamp", "-id")

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)


router = routers.DefaultRouter()
router.register("trades", PeerTradeViewSet, basename="peer-trade")

urlpatterns = [path("peer/", include(router.urls)), path("", include("config.urls"))]
