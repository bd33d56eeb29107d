"""What a scenario run watches while it runs: a timeline of signals, and the client's books after resyncs.

``RunObserver`` listens to every place the harness reacts to trouble and writes one ``Signal``
(virtual time, venue, name, detail) per reaction, the raw material of the scorecard's detection
and recovery times:

* the client's stream events (``sim.client_links``): ``user:down``, ``market:up``,
  ``book:book_gap``, ``book:book_resynced``, ``rest:time_resync``, ``market:stale`` ...;
* the engine's alerts: ``alert:<kind>``, and circuit-breaker transitions as ``breaker:<state>``;
* every reconciliation the engine completes: ``reconcile:clean`` or ``reconcile:found``;
* every fill the engine applies: ``fill``;
* after the run, every audited request's outcome: ``audit:ok`` or ``audit:<CATEGORY>``.

Book checks: after a client book is resynced, the first time it stands at the same update id as
the venue's own book, the top ``BOOK_CHECK_DEPTH`` levels of both are compared (a
``scenarios.invariants.BookCheck``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from harness.alerts import Alert
from harness.audit import AuditRecord
from harness.engine import ExecutionEngine
from harness.model import BOOK_ASK, BOOK_BID, Fill
from harness.orders import ManagedOrder
from harness.reconcile import Discrepancy
from scenarios.invariants import BookCheck
from sim.adapter import SimAdapter
from sim.client_book import ClientBook
from sim.client_links import StreamEvent

__all__ = ["BOOK_CHECK_DEPTH", "RunObserver", "Signal"]

BOOK_CHECK_DEPTH = 20
"""Levels per side compared between the client's book and the venue's after a resync."""


@dataclass(frozen=True, slots=True)
class Signal:
    """One reaction of the harness to trouble, at virtual time ``ts_ns``."""

    ts_ns: int
    venue: str
    name: str
    detail: str = ""


def _ignore(book: object) -> None:
    """The monitor's book callback: the book is checked through the client book's observers."""


class RunObserver:
    """Collects the signals and book checks of one run (see the module docstring)."""

    def __init__(self, adapters: Mapping[str, SimAdapter], engine: ExecutionEngine) -> None:
        self.signals: list[Signal] = []
        self.book_checks: list[BookCheck] = []
        self._adapters = adapters
        self._engine = engine
        self._pending: set[tuple[str, str]] = set()
        self.resyncs = 0
        self.feed_gaps: dict[str, int] = {}
        """The longest pause between two watched quotes, per venue (``watch``)."""
        self._last_quote: dict[str, int] = {}
        for adapter in adapters.values():
            adapter.session.events.listeners.append(self._on_stream_event)
            adapter.market.book_listeners.append(self._book_watcher(adapter))
        engine.alerts.listen(self._on_alert)
        engine.reconcile_listeners.append(self._on_reconcile)
        engine.fill_listeners.append(self._on_fill)

    def _now(self) -> int:
        return self._engine.clock.now_ns()

    def _on_stream_event(self, event: StreamEvent) -> None:
        stream = "book" if event.stream.startswith("book:") else event.stream
        self.signals.append(Signal(event.ts_ns, event.venue, f"{stream}:{event.kind}",
                                   f"{event.stream} {event.detail}".strip()))

    def _on_alert(self, alert: Alert) -> None:
        self.signals.append(Signal(alert.ts_ns, alert.venue, f"alert:{alert.kind}", alert.message))
        if alert.kind == "circuit_breaker":
            self.signals.append(Signal(alert.ts_ns, alert.venue, f"breaker:{alert.details.get('to', '')}",
                                       alert.details.get("breaker", "")))

    def _on_reconcile(self, venue: str, found: list[Discrepancy]) -> None:
        name = "reconcile:found" if found else "reconcile:clean"
        self.signals.append(Signal(self._now(), venue, name, f"{len(found)} discrepancies"))

    def _on_fill(self, order: ManagedOrder, fill: Fill) -> None:
        self.signals.append(Signal(self._now(), fill.venue, "fill", fill.execution_id))

    def note(self, venue: str, name: str, detail: str = "") -> None:
        """Add a signal from outside the harness (e.g. ``restart`` by the crash runner)."""
        self.signals.append(Signal(self._now(), venue, name, detail))

    def add_audit(self, records: Iterable[AuditRecord]) -> None:
        """Turn the run's audit records into ``audit:ok`` / ``audit:<CATEGORY>`` signals."""
        for record in records:
            if record.phase != "result":
                continue
            name = "audit:ok" if record.success else f"audit:{record.error_category}"
            self.signals.append(Signal(record.ts_ns, record.venue, name, record.method))
        self.signals.sort(key=lambda s: s.ts_ns)

    async def watch(self, symbols: Iterable[str]) -> None:
        """Subscribe a monitor to the books and quotes of ``symbols`` on every venue listing them."""
        for name, adapter in self._adapters.items():
            for symbol in symbols:
                if symbol not in adapter.sim_venue.profile.symbols:
                    continue
                await adapter.subscribe_book(symbol, _ignore)
                await adapter.subscribe_quotes(symbol, self._quote_watcher(name))

    def _quote_watcher(self, venue: str) -> Callable[[object], None]:
        def on_quote(quote: object) -> None:
            now = self._now()
            last = self._last_quote.get(venue)
            if last is not None:
                self.feed_gaps[venue] = max(self.feed_gaps.get(venue, 0), now - last)
            self._last_quote[venue] = now
        return on_quote

    # ------------------------------------------------------------------ books

    def _book_watcher(self, adapter: SimAdapter) -> Callable[[ClientBook], None]:
        def watch(book: ClientBook) -> None:
            self._watch_book(adapter, book)
        return watch

    def _watch_book(self, adapter: SimAdapter, book: ClientBook) -> None:
        def observe(client: ClientBook, resynced: bool) -> None:
            key = (adapter.venue, client.symbol)
            if resynced:
                self.resyncs += 1
                self._pending.add(key)
            if key in self._pending:
                self._compare(adapter, client)

        book.observers.append(observe)

    def final_check(self) -> None:
        """At the end of the run: every valid client book at the venue's update id must equal the venue's."""
        for adapter in self._adapters.values():
            for client in adapter.books.values():
                if client.sync.valid:
                    self._pending.add((adapter.venue, client.symbol))
                    self._compare(adapter, client)

    def _compare(self, adapter: SimAdapter, client: ClientBook) -> None:
        stream = adapter.sim_venue.books.get(client.symbol)
        if stream is None or stream.sync.update_id != client.sync.update_id:
            return  # a message is still in flight: compare at the next moment both agree
        key = (adapter.venue, client.symbol)
        self._pending.discard(key)
        ours, theirs = client.sync.book, stream.sync.book
        differences = [side_name for side, side_name in ((BOOK_BID, "bids"), (BOOK_ASK, "asks"))
                       if ours.depth(side, BOOK_CHECK_DEPTH) != theirs.depth(side, BOOK_CHECK_DEPTH)]
        detail = "top levels equal" if not differences else f"{' and '.join(differences)} differ"
        self.book_checks.append(BookCheck(self._now(), adapter.venue, client.symbol, client.sync.update_id,
                                          not differences, detail))
