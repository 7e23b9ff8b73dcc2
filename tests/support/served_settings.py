"""Settings of a served process under test: TradePulse's own, plus the URLs of
``tests.support.served_urls`` (views that fail on purpose). Used as DJANGO_SETTINGS_MODULE."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.support.served_urls"
