import asyncio
import contextlib

from channels.db import database_sync_to_async
from django.core.management.base import BaseCommand, CommandError

from algo.api.inputs import PaperSessionInput, first_error
from algo.management.commands._common import resolve_user
from algo.models import PaperSession
from algo.paper import PaperSessionsSink
from algo.selectors import paper_session_figures
from algo.services import paper_session_start, paper_session_stop
from tradepulse.market import Tick


class Command(BaseCommand):
    help = (
        "Paper-trade a moving-average crossover on live ticks in the foreground, with the "
        "provider of MARKET_DATA_PROVIDER; fills go to USER's ledger (source=paper). Ctrl-C stops."
    )

    def add_arguments(self, parser):
        parser.add_argument("--ticker", required=True)
        parser.add_argument("--fast", type=int, default=10)
        parser.add_argument("--slow", type=int, default=20)
        parser.add_argument("--kind", default="sma")
        parser.add_argument("--allow-short", action="store_true")
        parser.add_argument("--bar", default="1m", help="bar interval, 5s to 1d (default 1m)")
        parser.add_argument("--cash", type=float, default=10_000.0)
        parser.add_argument("--commission", type=float, default=0.0)
        parser.add_argument("--quantity", type=int, help="units per trade (default: all equity)")
        parser.add_argument("--user", help="owner of the session (default: the demo user)")

    def handle(self, *args, **o):
        user = resolve_user(o["user"])
        data = {
            k: o[k]
            for k in (
                "ticker",
                "fast",
                "slow",
                "kind",
                "allow_short",
                "bar",
                "cash",
                "commission",
                "quantity",
            )
        }
        given = PaperSessionInput(data={k: v for k, v in data.items() if v is not None})
        if not given.is_valid():
            field, message = first_error(given.errors)
            raise CommandError(f"--{field.replace('_', '-')}: {message}")
        session = paper_session_start(
            owner=user, params=given.session_params(), runner=PaperSession.Runner.COMMAND
        )
        self.stdout.write(
            f"paper session {session.pk}: {session.ticker} {session.params['kind']}"
            f"({session.params['fast']}, {session.params['slow']}) on {session.interval} bars; "
            "Ctrl-C to stop"
        )
        try:
            asyncio.run(self._run(session))
        except KeyboardInterrupt:
            pass
        finally:
            session.refresh_from_db()
            paper_session_stop(session=session)
        figures = paper_session_figures(session)
        self.stdout.write(
            f"stopped session {session.pk}: position {figures['position']}, "
            f"equity {figures['equity']:.2f}, P&L {figures['pnl']:+.2f}, {session.fills} fills"
        )

    async def _run(self, session: PaperSession) -> None:
        from live.factories import provider_from_settings

        def report(session_id, fill):
            self.stdout.write(
                f"{fill.timestamp.isoformat()} bar {fill.bar_index} {fill.leg}: {fill.side} "
                f"{fill.quantity} {session.ticker} @ {fill.price:g}"
            )

        try:
            provider = provider_from_settings()
        except (ValueError, TypeError) as exc:
            raise CommandError(f"market data provider: {exc}") from None
        sink = PaperSessionsSink(
            runner=PaperSession.Runner.COMMAND, session_id=session.pk, on_fill=report
        )
        await sink.start()
        try:
            await provider.subscribe([session.ticker])
            async for item in provider.ticks():
                if isinstance(item, Tick):
                    if item.ticker == session.ticker:
                        await sink.on_tick(item)
                else:
                    self.stderr.write(f"[{item.state}] {item.reason}")
                if not sink.sessions:
                    # Stopped elsewhere (DELETE /api/paper-sessions/<id>/).
                    break
        finally:
            with contextlib.suppress(Exception):
                await provider.close()
            await sink.stop()
        await database_sync_to_async(session.refresh_from_db)()
