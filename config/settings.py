"""Django settings. Every environment variable TradePulse reads is read here, once.

The embedded default (no variable set) runs on SQLite, the in-memory channel layer, a local
export folder, the simulated market feed and in-process analysis. See README for the table.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A .env file beside manage.py is read if present; real environment variables win.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# Public (it is in this file): good for development only.
DEVELOPMENT_SECRET_KEY = "insecure-development-key-" + "x" * 40
if DEBUG:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
else:
    # Production secrets have no default: a missing, empty or public key stops the process.
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
    if not SECRET_KEY.strip():
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is missing or empty; with DJANGO_DEBUG=0 it must be set to a "
            "long random secret."
        )
    if SECRET_KEY == DEVELOPMENT_SECRET_KEY:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is the public development key; with DJANGO_DEBUG=0 it must be "
            "set to a long random secret."
        )

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "api",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "ledger",
    "cloud",
    "live",
    "algo",
    "web",
]

MIDDLEWARE = [
    # Outermost: counts and times every request, whatever answers it.
    "config.metrics.RequestMetricsMiddleware",
    "api.outages.OutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A query parameter the OpenAPI document does not declare, or one given twice, is a 400.
    "api.query_params.DeclaredQueryParamsMiddleware",
    # Turns a locked-out login into a 429 (api/lockout.py); last, as django-axes requires.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")


def _database() -> dict:
    if DATABASE_URL:
        db = env.db("DATABASE_URL")
    elif env.str("DB_NAME", default=""):
        db = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env.str("DB_NAME"),
            "USER": env.str("DB_USER", default="postgres"),
            "PASSWORD": env.str("DB_PASSWORD", default=""),
            "HOST": env.str("DB_HOST", default="127.0.0.1"),
            "PORT": env.str("DB_PORT", default="5432"),
        }
    else:
        VAR_DIR.mkdir(exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_PATH", default=str(VAR_DIR / "tradepulse.sqlite3")),
            "OPTIONS": {
                # WAL lets the feed write alerts while the API reads; IMMEDIATE avoids
                # "database is locked" on concurrent writers.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    if db["ENGINE"].endswith("postgresql"):
        # One psycopg pool per process, shared by its threads (HTTP requests, WebSocket
        # consumers' database calls); Django requires CONN_MAX_AGE=0 with a pool.
        db["CONN_MAX_AGE"] = 0
        if env.bool("DB_POOL", default=True):
            db.setdefault("OPTIONS", {})["pool"] = {
                "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
                "max_size": env.int("DB_POOL_MAX_SIZE", default=10),
                "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
            }
    return db


DATABASES = {"default": _database()}
# Threads per web process that run HTTP requests through Django (config/asgi.py). A thread
# holds at most one database connection; with more threads than DB_POOL_MAX_SIZE, a request
# that finds every connection taken waits DB_POOL_TIMEOUT and is answered 503 (database),
# and requests that need no connection are still served.
HTTP_THREADS = env.int("HTTP_THREADS", default=20)
# How long (ms) a thread of a server process may hold the interpreter lock while another waits
# for it (Python's default: 5). A request thread back from the database waits that long to
# send its next query; 1 served more list pages a second with one process (BENCHMARKS.md).
GIL_SWITCH_INTERVAL_MS = env.float("GIL_SWITCH_INTERVAL_MS", default=1.0)
if not 0 < GIL_SWITCH_INTERVAL_MS <= 1000:
    raise ImproperlyConfigured(
        f"GIL_SWITCH_INTERVAL_MS must be a number of milliseconds above 0 and at most 1000, "
        f"got {GIL_SWITCH_INTERVAL_MS!r}"
    )
# A request's line and headers must arrive within this many seconds of the connection opening
# (or of its first byte, on a kept-alive connection), and its body may not pause for longer;
# otherwise the server answers 408 and closes the connection (config/http_protocol.py).
_read_timeout = env.str("HTTP_READ_TIMEOUT", default="30")
try:
    HTTP_READ_TIMEOUT = float(_read_timeout)
except ValueError:
    HTTP_READ_TIMEOUT = float("nan")  # refused below, with the variable's name
if not 0 < HTTP_READ_TIMEOUT <= 3600:
    raise ImproperlyConfigured(
        f"HTTP_READ_TIMEOUT must be a number of seconds above 0 and at most 3600, "
        f"got {_read_timeout!r}"
    )
# Requests that start running at once in a web process (2: one runs Python while the other
# waits for the database); the others wait their turn on the event loop. A request gives its
# place up after 50 ms or when it starts streaming, so a slow one (a download, a Lambda call,
# a database wait) never holds the rest for longer. bench/results/http-concurrency.md.
HTTP_CONCURRENCY = env.int("HTTP_CONCURRENCY", default=2)
# With several web worker processes on one address (`make run-scaled`), a worker whose HTTP load
# (requests waiting for or holding a place, averaged over 0.1 s) exceeds its least busy peer's
# by 2 or more closes one keep-alive connection after its response, so that clients spread
# evenly (config/worker_balance.py). Turn it off behind a proxy that balances by itself.
HTTP_BALANCE = env.bool("HTTP_BALANCE", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "api.lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login lock-out (django-axes): this many wrong passwords for one username from one client
# address lock that pair out for LOGIN_LOCKOUT_MINUTES (429).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "api.client.client_ip"
AXES_LOCKOUT_CALLABLE = "api.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
# Serve app static files straight from their folders: no collectstatic step to forget.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "web-login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# --- Redis (cache, channel layer, background workers in the scale-out mode) -----------------
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedPoolRedisCache",
            "LOCATION": REDIS_URL,
            # An unreachable or stalled Redis fails fast (throttles then fail open), instead
            # of holding requests.
            "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 2.0},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "config.cache.LocalMemoryCache"}}

CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }

# --- Outages and metrics --------------------------------------------------------------------
# A database or Redis outage is a 503 with this Retry-After (seconds) naming the component.
OUTAGE_RETRY_AFTER_SECONDS = env.int("OUTAGE_RETRY_AFTER_SECONDS", default=5)
# /metrics (Prometheus text format): with a token, only `Authorization: Bearer <token>`;
# without one, only clients on this machine (127.0.0.1, ::1).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Set by `make run` / `make run-scaled`: every process writes its metrics there and /metrics
# adds them up (prometheus-client's multiprocess mode). Unset: this process's metrics only.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")

# --- Request limits -------------------------------------------------------------------------
# A bulk request of 10,000 trades is about 1.3 MB of JSON; anything far larger is refused.
# The ASGI application refuses a larger body before reading it (config/request_limits.py);
# paths with a limit of their own are in REQUEST_BODY_LIMITS below.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", default=4 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.IsAuthenticatedThrottled"],
    # JSON only (a form-encoded body is a 415 naming application/json); endpoints taking a file
    # add api.parsers.UploadParser.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.DecimalJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_RENDERER_CLASSES": [
        "api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # DRF's negotiation, answering "no Accept header" and "*/*" without parsing them.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.negotiation.ContentNegotiation",
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.AnonWindowThrottle",
        "api.throttling.UserWindowThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user": env.str("THROTTLE_USER", default="6000/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Any throttle still using DRF's get_ident counts REMOTE_ADDR, never X-Forwarded-For.
    "NUM_PROXIES": 0,
}

# API tokens (django-rest-knox): stored as SHA-512 digests, shown once when made. A token expires
# this many days after it is made; 0 means never.
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=30)
# On PostgreSQL a web process remembers a token check for at most this long, and forgets it as
# soon as the database says a token or user changed (api/token_cache.py); 0: query every time.
_token_cache = env.str("API_TOKEN_CACHE_SECONDS", default="60")
if not _token_cache.strip().isdigit():
    raise ImproperlyConfigured(
        f"API_TOKEN_CACHE_SECONDS must be 0 (off) or a whole number of seconds, "
        f"got {_token_cache!r}"
    )
API_TOKEN_CACHE_SECONDS = int(_token_cache)
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=API_TOKEN_TTL_DAYS) if API_TOKEN_TTL_DAYS > 0 else None,
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "TradePulse API",
    "DESCRIPTION": "Trade ledger, live alerts, cloud analysis and strategies.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["api.permissions.IsAuthenticatedThrottled"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "BacktestStatusEnum": "algo.models.BacktestRun.Status",
        "PaperSessionStatusEnum": "algo.models.PaperSession.Status",
    },
}

# --- Ledger ---------------------------------------------------------------------------------
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
BULK_MAX_TRADES = 10_000
# The demo user (`seed_demo`, run by `make run`): never staff. With DJANGO_DEBUG=1 it gets
# DEMO_PASSWORD; with DJANGO_DEBUG=0 it is made only when asked (this setting or
# `seed_demo --in-production`), with a random password printed once.
DEMO_USERNAME = env.str("DEMO_USERNAME", default="demo")
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="tradepulse-demo")
DEMO_USER_IN_PRODUCTION = env.bool("DEMO_USER_IN_PRODUCTION", default=False)

# --- live ---------------------------------------------------------------------------------
# Market data for the live feed: simulated | replay | yahoo | websocket.
MARKET_DATA_PROVIDER = env.str("MARKET_DATA_PROVIDER", default="simulated")
MARKET_SIM_SEED = env.str("MARKET_SIM_SEED", default="") or None
MARKET_SIM_RATE = env.float("MARKET_SIM_RATE", default=1.0)
MARKET_SIM_JUMP_INTERVAL = env.float("MARKET_SIM_JUMP_INTERVAL", default=180.0)
MARKET_REPLAY_FILE = env.str("MARKET_REPLAY_FILE", default="")
MARKET_REPLAY_SPEED = env.float("MARKET_REPLAY_SPEED", default=1.0)
MARKET_REPLAY_LOOP = env.bool("MARKET_REPLAY_LOOP", default=False)
MARKET_REPLAY_REBASE = env.bool("MARKET_REPLAY_REBASE", default=True)
YAHOO_STREAM_URL = env.str("YAHOO_STREAM_URL", default="")
YAHOO_MODE = env.str("YAHOO_MODE", default="auto")
MARKET_WEBSOCKET_URL = env.str("MARKET_WEBSOCKET_URL", default="ws://127.0.0.1:8001")
# Coalescing: at most one tick message per ticker per interval (seconds); alerts are never held.
FEED_PUBLISH_INTERVAL = env.float("FEED_PUBLISH_INTERVAL", default=0.1)
# The in-memory channel layer only reaches consumers of this process, so the feed runs inside
# the ASGI process there; with Redis it runs on its own (`python manage.py run_feed`).
FEED_IN_PROCESS = env.bool(
    "FEED_IN_PROCESS",
    default=CHANNEL_LAYERS["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer",
)
FEED_TICK_SINKS = env.list("FEED_TICK_SINKS", default=["algo.paper.PaperSessionsSink"])
ALERT_THRESHOLD_PCT = env.float("ALERT_THRESHOLD_PCT", default=2.0)
ALERT_WINDOW_SECONDS = env.float("ALERT_WINDOW_SECONDS", default=60.0)
MOVING_AVERAGE_SECONDS = env.float("MOVING_AVERAGE_SECONDS", default=300.0)
LIVE_WS_AUTH_TIMEOUT = env.float("LIVE_WS_AUTH_TIMEOUT", default=5.0)
LIVE_WS_MAX_TICKERS = env.int("LIVE_WS_MAX_TICKERS", default=20)
# WebSocket limits: open sockets per user (across every web process), the largest message a
# client may send, and the unsent bytes a socket may hold before it is closed as not reading.
LIVE_WS_MAX_PER_USER = env.int("LIVE_WS_MAX_PER_USER", default=10)
LIVE_WS_MAX_MESSAGE_BYTES = env.int("LIVE_WS_MAX_MESSAGE_BYTES", default=4096)
LIVE_WS_SEND_BUFFER_BYTES = env.int("LIVE_WS_SEND_BUFFER_BYTES", default=256 * 1024)
# Sockets are told prices are stale after this many seconds without word from the feed.
LIVE_STALE_AFTER_SECONDS = env.float("LIVE_STALE_AFTER_SECONDS", default=3.0)
# Alerts waiting to be stored (kept and retried while the database is away); beyond this
# many, new alerts are not stored (logged and counted).
ALERT_STORE_QUEUE_SIZE = env.int("ALERT_STORE_QUEUE_SIZE", default=10_000)
# The feed lease (scaled mode): its holder publishes; a standby takes over when the holder
# has not renewed it for this many seconds.
FEED_LEASE_SECONDS = env.float("FEED_LEASE_SECONDS", default=5.0)

# --- algo ---------------------------------------------------------------------------------
# Backtest runs: inline up to this many bars; larger runs go to a Celery worker when REDIS_URL
# is set (`celery -A config worker`), and run inline otherwise.
BACKTEST_INLINE_MAX_BARS = env.int("BACKTEST_INLINE_MAX_BARS", default=100_000)
BACKTEST_MAX_BARS = env.int("BACKTEST_MAX_BARS", default=2_000_000)
BACKTEST_MAX_UPLOAD_BYTES = env.int("BACKTEST_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)

# Request body limits by path prefix (bytes; the longest matching prefix wins), every other path
# MAX_REQUEST_BYTES: the one place where a path gets a larger body. The backtest CSV upload
# comes as multipart: the file plus its form fields and framing.
REQUEST_BODY_LIMITS = {
    "/api/backtests/": BACKTEST_MAX_UPLOAD_BYTES + 64 * 1024,
}
# Bars of ticker/CSV runs and the plots drawn on request are kept here.
ALGO_DATA_DIR = env.path("ALGO_DATA_DIR", default=VAR_DIR / "algo")
# How often the paper-trading sink reloads running sessions and saves their open bars (s).
PAPER_REFRESH_SECONDS = env.float("PAPER_REFRESH_SECONDS", default=2.0)
# Backtests a user may have queued or running at once (a further POST is a 429).
BACKTEST_MAX_ACTIVE_PER_USER = env.int("BACKTEST_MAX_ACTIVE_PER_USER", default=3)
# The longest a backtest may run on the worker (s); past it the run ends as failed.
BACKTEST_TIME_LIMIT = env.int("BACKTEST_TIME_LIMIT", default=600)
# How long the broker waits for a worker to acknowledge a task before handing it to another
# (s): a run whose worker died is delivered again after this. It must exceed the time limit
# plus the 5 s grace before a run over time is killed, or a run still going would be handed
# out twice.
BACKTEST_VISIBILITY_TIMEOUT = env.int(
    "BACKTEST_VISIBILITY_TIMEOUT", default=BACKTEST_TIME_LIMIT + 60
)
if BACKTEST_VISIBILITY_TIMEOUT <= BACKTEST_TIME_LIMIT + 5:
    raise ImproperlyConfigured(
        f"BACKTEST_VISIBILITY_TIMEOUT ({BACKTEST_VISIBILITY_TIMEOUT}) must exceed "
        f"BACKTEST_TIME_LIMIT + 5 ({BACKTEST_TIME_LIMIT + 5})"
    )
# Deliveries of one run: a run whose worker died this many times ends as failed.
BACKTEST_MAX_ATTEMPTS = env.int("BACKTEST_MAX_ATTEMPTS", default=2)
# How often beat looks for runs whose worker died and that the broker did not deliver again
# (s); such a run is failed once it has been running for the visibility timeout plus this.
BACKTEST_REAPER_INTERVAL = env.int("BACKTEST_REAPER_INTERVAL", default=60)

# --- Celery (worker and beat of the scale-out mode) -----------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": BACKTEST_VISIBILITY_TIMEOUT,
    # Workers look for overdue unacknowledged tasks this often (s), on every sweep (kombu's
    # default sweeps every 10 x 10 s), so a dead worker's run is back within the visibility
    # timeout plus at most 10 s.
    "unacked_restore_interval": max(1, min(10, BACKTEST_VISIBILITY_TIMEOUT // 10)),
    "unacked_restore_throttle": 1,
}
# A POST that queues work fails within about a second when the broker is down (the run is
# then failed with the reason), instead of hanging on reconnects.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.3,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2.0
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# Beat exports the previous UTC day at this UTC time (HH:MM), then runs that day's analysis.
EXPORT_SCHEDULE = env.str("EXPORT_SCHEDULE", default="00:15")


def _daily_at(text: str) -> crontab:
    try:
        hour, minute = (int(part) for part in text.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise ImproperlyConfigured(
            f"EXPORT_SCHEDULE must be a UTC time HH:MM, got {text!r}"
        ) from None
    return crontab(hour=hour, minute=minute)


CELERY_BEAT_SCHEDULE = {
    "export-previous-day": {
        "task": "cloud.export_previous_day",
        "schedule": _daily_at(EXPORT_SCHEDULE),
    },
    "reap-backtests": {
        "task": "algo.reap_backtests",
        "schedule": float(BACKTEST_REAPER_INTERVAL),
    },
}

# --- cloud ---------------------------------------------------------------------------------
# Where `export_trades` writes YYYY/MM/DD/trades.csv and the analysis reads it:
# s3://BUCKET[/PREFIX] or file:///PATH. AWS credentials, region and endpoint (AWS_ENDPOINT_URL
# for MinIO/LocalStack) are read by boto3 from the standard AWS sources, not here.
TRADES_EXPORT_URL = env.str("TRADES_EXPORT_URL", default=(VAR_DIR / "exports").as_uri())
TRADES_EXPORT_MULTIPART_THRESHOLD = env.int(
    "TRADES_EXPORT_MULTIPART_THRESHOLD", default=64 * 1024 * 1024
)
TRADES_EXPORT_PART_SIZE = env.int("TRADES_EXPORT_PART_SIZE", default=16 * 1024 * 1024)
# "path" for servers that do not resolve BUCKET.HOST names (a MinIO on localhost).
AWS_S3_ADDRESSING_STYLE = env.str("AWS_S3_ADDRESSING_STYLE", default="auto")
# How /api/trade-analysis/ runs the analysis: local (in-process) | lambda | http.
TRADE_ANALYSIS_BACKEND = env.str("TRADE_ANALYSIS_BACKEND", default="local")
AWS_LAMBDA_FUNCTION_NAME = env.str("AWS_LAMBDA_FUNCTION_NAME", default="")
AWS_LAMBDA_API_URL = env.str("AWS_LAMBDA_API_URL", default="")
TRADE_ANALYSIS_TIMEOUT = env.float("TRADE_ANALYSIS_TIMEOUT", default=30.0)
TRADE_ANALYSIS_RATE = env.str("TRADE_ANALYSIS_RATE", default="30/min")
# Who may run and read the all-users analysis: "staff" (is_staff users) or "users" (every
# signed-in user). A ticker traded by one user on a day shows that user's exact trades.
TRADE_ANALYSIS_ACCESS = env.str("TRADE_ANALYSIS_ACCESS", default="staff")
if TRADE_ANALYSIS_ACCESS not in ("staff", "users"):
    raise ImproperlyConfigured(
        f"TRADE_ANALYSIS_ACCESS must be 'staff' or 'users', not {TRADE_ANALYSIS_ACCESS!r}"
    )

# --- Security (production) ------------------------------------------------------------------
# Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: addresses or networks,
# e.g. "10.0.0.5,172.16.0.0/12". None by default: the client is REMOTE_ADDR (see api/client.py).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or network"
        ) from None
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # Health checks from a load balancer arrive over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # boto3 announces where it found credentials on every command at INFO.
        "botocore": {"level": "WARNING"},
        "boto3": {"level": "WARNING"},
        # django-axes reports every login at INFO; lock-outs come at WARNING.
        "axes": {"level": "WARNING"},
    },
}
