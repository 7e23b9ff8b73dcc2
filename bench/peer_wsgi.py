"""The plain-DRF peer (``bench/ledger_peer.py``) as a WSGI application, for gunicorn's sync
workers: the project's settings with the peer's routes mounted beside the real API."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
settings.ROOT_URLCONF = "bench.ledger_peer"
