from django.urls import re_path

from live.consumers import StockPriceConsumer
from live.origin import refuse_unrouted

# The ticker is validated by the consumer, which closes with 4400 and a reason, so the
# pattern accepts anything up to the slash. Any other path is refused at the handshake.
websocket_urlpatterns = [
    re_path(r"^ws/stocks/(?P<ticker>[^/]{1,64})/?$", StockPriceConsumer.as_asgi()),
    re_path(r"", refuse_unrouted),
]
