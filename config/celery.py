"""The Celery app of the scale-out mode: background backtests (``celery -A config worker``).

Its broker is ``REDIS_URL`` (see ``CELERY_*`` in settings); without Redis nothing is queued and
every backtest runs inside the request.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tradepulse")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["algo"])
