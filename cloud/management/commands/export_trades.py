import sys
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from cloud.destinations import configured_destination
from cloud.exceptions import ExportError, InvalidDestination
from cloud.selectors import day_trade_count, trade_days
from cloud.services import export_day
from tradepulse.analysis import trades_key

# A day with more trades than this gets its own progress bar of rows.
LARGE_DAY_ROWS = 100_000


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"invalid date {value!r}: expected YYYY-MM-DD") from None


class Command(BaseCommand):
    help = (
        "Export trades to TRADES_EXPORT_URL (or --to), one CSV per UTC day at "
        "[prefix/]YYYY/MM/DD/trades.csv. Without a date option: today (UTC)."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--date", help="export this UTC day (YYYY-MM-DD)")
        which.add_argument("--start", help="first UTC day of a range (YYYY-MM-DD), with --end")
        which.add_argument("--all", action="store_true", help="every day that has trades")
        parser.add_argument("--end", help="last UTC day of the range (inclusive), with --start")
        parser.add_argument(
            "--to", metavar="URL", help="s3://BUCKET[/PREFIX] or file:///PATH for this run"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would be written, write nothing"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="queue each day's export, then its analysis, for the Celery worker (needs "
            "REDIS_URL) instead of exporting here",
        )
        parser.add_argument(
            "--no-analysis", action="store_true", help="with --enqueue: export only"
        )

    def handle(self, *args, **options):
        if options["enqueue"]:
            return self.enqueue(options)
        try:
            destination = configured_destination(options["to"])
        except InvalidDestination as error:
            raise CommandError(str(error)) from None
        if not options["dry_run"]:
            try:
                destination.check()
            except ExportError as error:
                raise CommandError(str(error)) from None

        days, with_trades = self.days(options)
        stream = self.progress_stream = options.get("stderr") or sys.stderr
        show = False if options["no_progress"] else None  # None: only on a terminal
        totals = {"days": 0, "rows": 0, "bytes": 0}
        bar = tqdm(
            days,
            desc="days",
            unit="day",
            file=stream,
            disable=True if show is False or len(days) < 2 else None,
            leave=False,
        )
        for day in bar:
            if day not in with_trades:
                self.say(bar, f"{day}  no trades, nothing written")
                continue
            if options["dry_run"]:
                rows = day_trade_count(day)
                self.say(
                    bar,
                    f"{day}  {rows:,} rows  would be written to {destination.describe(trades_key(day))}",
                )
                totals["days"] += 1
                totals["rows"] += rows
                continue
            result = self.export(day, destination, stream, show)
            if not result.written:
                self.say(bar, f"{day}  no trades, nothing written")
                continue
            self.say(bar, f"{day}  {result.rows:,} rows  {result.bytes:,} bytes  {result.key}")
            totals["days"] += 1
            totals["rows"] += result.rows
            totals["bytes"] += result.bytes
        bar.close()

        if options["dry_run"]:
            self.stdout.write(
                f"Dry run: {totals['days']} day(s), {totals['rows']:,} rows would be written "
                f"to {destination.url}."
            )
        else:
            self.stdout.write(
                f"Exported {totals['days']} day(s), {totals['rows']:,} rows, "
                f"{totals['bytes']:,} bytes to {destination.url}."
            )

    def enqueue(self, options) -> None:
        from django.conf import settings

        from cloud.tasks import enqueue_export

        if options["to"] or options["dry_run"]:
            raise CommandError("--enqueue exports to TRADES_EXPORT_URL; drop --to and --dry-run")
        if not settings.REDIS_URL:
            raise CommandError("--enqueue needs the Celery worker's broker: set REDIS_URL")
        days, _ = self.days(options)
        for day in days:
            try:
                task_id = enqueue_export(day, analyse=not options["no_analysis"])
            except Exception as error:
                raise CommandError(
                    f"could not queue the export of {day}: the broker is unavailable ({error})"
                ) from None
            then = "" if options["no_analysis"] else ", then its analysis"
            self.stdout.write(f"{day}  export queued{then} (task {task_id})")

    def days(self, options) -> tuple[list[date], set[date]]:
        """The days to go through, and which of them have trades."""
        if options["end"] and not options["start"]:
            raise CommandError("--end needs --start")
        if options["all"]:
            days = trade_days()
            return days, set(days)
        if options["start"]:
            if not options["end"]:
                raise CommandError("--start needs --end")
            start, end = _date(options["start"]), _date(options["end"])
            if end < start:
                raise CommandError(f"--end {end} is before --start {start}")
            every = [start + timedelta(days=n) for n in range((end - start).days + 1)]
            return every, set(trade_days(start, end))
        day = _date(options["date"]) if options["date"] else timezone.now().date()
        return [day], set(trade_days(day, day))

    def export(self, day, destination, stream, show):
        rows_bar = None
        if show is not False and getattr(stream, "isatty", lambda: False)():
            expected = day_trade_count(day)
            if expected >= LARGE_DAY_ROWS:
                rows_bar = tqdm(
                    total=expected, desc=str(day), unit="rows", unit_scale=True, file=stream
                )
        try:
            return export_day(day, destination, on_rows=rows_bar.update if rows_bar else None)
        except ExportError as error:
            raise CommandError(str(error)) from None
        finally:
            if rows_bar is not None:
                rows_bar.close()

    def say(self, bar, line: str) -> None:
        # Clears a running bar first and redraws it below the line instead of through it.
        with tqdm.external_write_mode(file=self.progress_stream):
            self.stdout.write(line)
