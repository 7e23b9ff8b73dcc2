"""The trader's pages: ``/`` (dashboard, or the login page when signed out) and ``/web/...``."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from web.views import alerts, backtests, dashboard, paper, positions, trades

web_patterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", redirect_authenticated_user=True
        ),
        name="web-login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="web-logout"),
    path("trades/", trades.trade_list, name="web-trades"),
    path("trades/new/", trades.trade_new, name="web-trade-new"),
    path("trades/import/", trades.trade_import, name="web-trade-import"),
    path("trades/export.csv", trades.trade_export, name="web-trade-export"),
    path("trades/<int:pk>/edit/", trades.trade_edit, name="web-trade-edit"),
    path("trades/<int:pk>/delete/", trades.trade_remove, name="web-trade-delete"),
    path("positions/", positions.position_list, name="web-positions"),
    path("alerts/", alerts.alert_list, name="web-alerts"),
    path("alerts/rules/", alerts.rule_add, name="web-rule-add"),
    path("alerts/rules/<str:ticker>/", alerts.rule_change, name="web-rule-change"),
    path("alerts/rules/<str:ticker>/delete/", alerts.rule_remove, name="web-rule-delete"),
    path("backtests/", backtests.backtest_list, name="web-backtests"),
    path("backtests/sweep/", backtests.backtest_sweep_page, name="web-sweep"),
    path("backtests/<int:pk>/", backtests.backtest_page, name="web-backtest"),
    path("paper/", paper.paper_list, name="web-paper"),
    path("paper/sessions/", paper.paper_sessions_partial, name="web-paper-sessions"),
    path("paper/<int:pk>/stop/", paper.paper_stop, name="web-paper-stop"),
]

urlpatterns = [
    path("", dashboard.home, name="web-home"),
    path("web/", include(web_patterns)),
]
