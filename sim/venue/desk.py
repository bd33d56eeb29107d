"""The venue's front desk: every client request meets it first, at venue time, and is recorded.

A request that reaches a simulated venue goes through these steps, in this order:

1. **availability** (``status``): an ``away`` venue is unreachable, so the request is lost in
   transit (``RequestLost``: the client hears nothing and times out); a venue in ``maintenance``
   answers HTTP 503, as Binance does while its API is down for maintenance;
2. **timestamp** (signed requests only): outside the receive window the venue refuses it with
   Binance's -1021 (``Timestamp for this request is outside of the recvWindow``); a skewed
   client clock produces exactly that;
3. **rate limits** (``SimVenue.check_rate``): 429 with Retry-After, 418 bans;
4. **hooks** registered by fault injectors that act at the venue just before it handles a
   request (a fill racing a cancel);
5. the venue operation itself (``SimVenue.submit``, ``cancel``, ...).

Each request is appended to ``log`` (``VenueRequest``: time, method, client order id, outcome):
the venue's own record, which invariants compare the client's audit trail against. With a
``VenueLogWriter`` attached, the request's inputs and outcome are also written to a file before
the answer leaves the venue, so the venue's state can be rebuilt by replaying the file
(``replay``) after the process that hosted it was killed: the simulated venue survives a crash
of its client as a real one would.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from harness.contract import RetryableError, VenueError
from harness.contract_methods import CONTRACT_METHODS
from harness.errors import error_from_http
from sim.venue.venue import RejectedRequest, SimVenue

__all__ = ["INVALID_TIMESTAMP", "ORDER_ENTRY", "SIGNED", "STATUSES", "RequestDesk", "RequestLost",
           "VenueLogRecord", "VenueLogWriter", "VenueRequest", "read_venue_log"]

INVALID_TIMESTAMP: Final = -1021
"""Binance's code for a request whose timestamp is outside the receive window."""

AHEAD_TOLERANCE_NS: Final = 1_000_000_000
"""How far ahead of the venue's clock a timestamp may be (Binance: 1000 ms)."""

SIGNED: Final = frozenset(name for m in CONTRACT_METHODS.values() if m.request and m.group in ("orders", "account")
                          for name in (m.name, *m.variants))
"""Requests that carry a timestamp (private ones: orders and account); market data is unsigned."""

ORDER_ENTRY: Final = frozenset({"submit_order", "cancel_order", "modify_order"})
"""Requests whose failure in transit leaves their outcome unknown (an HTTP 5xx is ambiguous for them)."""

STATUSES: Final = ("up", "away", "maintenance")
"""The venue's availability: serving, unreachable, or answering 503 for maintenance."""

Hook = Callable[[str, tuple[Any, ...]], None]
"""``hook(method, args)``: called at the venue just before it handles a request."""


class RequestLost(Exception):  # noqa: N818  (an event in transit, not a failure of the desk)
    """The request never reached the venue, or its answer never left it: the client hears nothing."""


@dataclass(frozen=True, slots=True)
class VenueRequest:
    """One request as the venue saw it: when, what, for which order, and how it was answered.

    ``outcome`` is ``"ok"`` or the refusal's code (``"-1003"``, ``"-2011"``, ``"-1021"``), else its
    HTTP status; ``http_status`` is the refusal's HTTP status (429 and 418 for rate limits), 200 when ok.
    """

    ts_ns: int
    method: str
    client_order_id: str
    outcome: str
    http_status: int = 200


@dataclass(frozen=True, slots=True)
class VenueLogRecord:
    """What the venue needs to handle a request again exactly: inputs and the outcome it gave.

    ``kind`` is ``"request"`` (through ``RequestDesk.handle``) or ``"inject"`` (a venue method
    called by a fault injector, e.g. a public trade printed at the venue).
    """

    kind: str
    ts_ns: int
    method: str
    op: str
    args: tuple[Any, ...]
    weight: int | None
    stamp_ns: int | None
    recv_window_ns: int
    outcome: str


class VenueLogWriter:
    """Appends ``VenueLogRecord``s to a file, flushed after each one (a killed process loses none).

    Records are pickled: the file is the venue's private state, read back only by
    ``read_venue_log`` in the same code version.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: IO[bytes] = self.path.open("ab")

    def write(self, record: VenueLogRecord) -> None:
        """Append one record and flush it to the operating system."""
        pickle.dump(record, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def read_venue_log(path: Path) -> list[VenueLogRecord]:
    """Every complete record of a venue log file, in order (a torn last record is ignored)."""
    records: list[VenueLogRecord] = []
    if not Path(path).exists():
        return records
    with Path(path).open("rb") as handle:
        while True:
            try:
                record = pickle.load(handle)  # our own file, written by VenueLogWriter
            except EOFError:
                break
            except (pickle.UnpicklingError, ValueError, IndexError):
                break  # a record cut short by the kill: it never took effect
            if not isinstance(record, VenueLogRecord):
                raise ValueError(f"{path}: not a venue log (found {type(record).__name__})")
            records.append(record)
    return records


def _client_order_id(args: tuple[Any, ...]) -> str:
    """The client order id among a request's arguments (an ``OrderRequest`` or ``(symbol, coid, ...)``)."""
    if not args:
        return ""
    first = args[0]
    coid = getattr(first, "client_order_id", None)
    if isinstance(coid, str):
        return coid
    if len(args) >= 2 and isinstance(args[1], str):
        return args[1]
    return ""


def _outcome(error: VenueError) -> str:
    if error.code is not None:
        return str(error.code)
    return str(error.http_status) if error.http_status is not None else type(error).__name__


class RequestDesk:
    """Where one ``SimVenue`` receives requests (see the module docstring)."""

    def __init__(self, venue: SimVenue) -> None:
        self.venue = venue
        self.status = "up"
        """``up``, ``away`` or ``maintenance`` (see ``STATUSES``); fault injectors change it."""
        self.log: list[VenueRequest] = []
        self.hooks: list[Hook] = []
        self.writer: VenueLogWriter | None = None

    def set_status(self, status: str) -> None:
        """Make the venue serve (``up``), vanish (``away``) or answer 503 (``maintenance``)."""
        if status not in STATUSES:
            raise ValueError(f"venue status must be one of {STATUSES}, got {status!r}")
        self.status = status

    @property
    def reachable(self) -> bool:
        """Whether a connection to the venue can be opened now (not ``away``)."""
        return self.status != "away"

    def handle(self, method: str, op: str, args: tuple[Any, ...], *, weight: int | None = None,
               stamp_ns: int | None = None, recv_window_ns: int = 5_000_000_000) -> Any:
        """Handle request ``method`` by calling ``venue.<op>(*args)`` (no op: nothing beyond the checks).

        ``stamp_ns`` is the request's timestamp (signed requests). Raises ``RequestLost`` while
        the venue is away, else the contract error of any refusal; every handled request is logged.
        """
        if self.status == "away":
            raise RequestLost(f"{self.venue.name} is unreachable")
        now = self.venue.now()
        coid = _client_order_id(args)
        outcome = "ok"
        status = 200
        try:
            result = self._serve(method, op, args, weight=weight, stamp_ns=stamp_ns, recv_window_ns=recv_window_ns)
        except VenueError as error:
            outcome = _outcome(error)
            status = error.http_status or 400
            raise
        finally:
            self.log.append(VenueRequest(now, method, coid, outcome, status))
            if self.writer is not None:
                self.writer.write(VenueLogRecord("request", now, method, op, args, weight, stamp_ns, recv_window_ns,
                                                 outcome))
        return result

    def _serve(self, method: str, op: str, args: tuple[Any, ...], *, weight: int | None, stamp_ns: int | None,
               recv_window_ns: int) -> Any:
        venue = self.venue
        if self.status == "maintenance":
            raise error_from_http(503, venue=venue.name, code=None, message="Service unavailable: system maintenance",
                                  retry_after_s=None, order_entry=method in ORDER_ENTRY)
        if stamp_ns is not None:
            self._check_timestamp(stamp_ns, recv_window_ns)
        venue.check_rate(method, weight=weight)
        for hook in list(self.hooks):
            hook(method, args)
        if not op:
            return None
        try:
            return getattr(venue, op)(*args)
        except RejectedRequest as refused:
            raise refused.rejection.to_error(venue.name) from None

    def _check_timestamp(self, stamp_ns: int, recv_window_ns: int) -> None:
        """Binance's rule: ``timestamp < serverTime + 1000 ms`` and ``serverTime - timestamp <= recvWindow``."""
        now = self.venue.now()
        if stamp_ns >= now + AHEAD_TOLERANCE_NS or now - stamp_ns > recv_window_ns:
            raise RetryableError("Timestamp for this request is outside of the recvWindow.", venue=self.venue.name,
                                 code=INVALID_TIMESTAMP, http_status=400)

    def note(self, method: str, args: tuple[Any, ...]) -> None:
        """Log that a fault injector is about to call ``venue.<method>(*args)`` (directly or through
        the market side), so a replay of the log repeats it."""
        if self.writer is not None:
            self.writer.write(VenueLogRecord("inject", self.venue.now(), method, method, args, None, None, 0, "ok"))

    def replay(self, record: VenueLogRecord) -> None:
        """Handle a logged record again (the venue's clock must be at its time); raises if it diverges."""
        if record.kind == "inject":
            getattr(self.venue, record.method)(*record.args)
            return
        outcome = "ok"
        try:
            self.handle(record.method, record.op, record.args, weight=record.weight, stamp_ns=record.stamp_ns,
                        recv_window_ns=record.recv_window_ns)
        except VenueError as error:
            outcome = _outcome(error)
        except RequestLost:
            outcome = "lost"
        if outcome != record.outcome:
            raise RuntimeError(f"venue replay diverged at {record.ts_ns}: {record.method} gave {outcome}, "
                               f"the log says {record.outcome}")

    def __iter__(self) -> Iterator[VenueRequest]:
        return iter(self.log)
