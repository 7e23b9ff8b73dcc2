from cloud.checks import cloud_settings


def ids(settings_problems):
    return [problem.id for problem in settings_problems]


def test_default_settings_pass(settings):
    assert cloud_settings(None) == []


def test_bad_export_url_is_reported(settings):
    settings.TRADES_EXPORT_URL = "ftp://example.test/trades"

    assert ids(cloud_settings(None)) == ["cloud.E001"]


def test_unknown_backend_is_reported(settings):
    settings.TRADE_ANALYSIS_BACKEND = "remote"

    assert ids(cloud_settings(None)) == ["cloud.E002"]


def test_remote_backends_need_their_target(settings):
    settings.TRADE_ANALYSIS_BACKEND = "lambda"
    settings.AWS_LAMBDA_FUNCTION_NAME = ""
    assert ids(cloud_settings(None)) == ["cloud.E003"]

    settings.TRADE_ANALYSIS_BACKEND = "http"
    settings.AWS_LAMBDA_API_URL = ""
    assert ids(cloud_settings(None)) == ["cloud.E004"]

    settings.AWS_LAMBDA_API_URL = (
        "https://abc.execute-api.us-east-1.amazonaws.com/Prod/trade-analysis"
    )
    assert cloud_settings(None) == []
