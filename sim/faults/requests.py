"""Faults on a venue's request path: failures, timeouts, rate limits, a skewed clock, a racing fill.

Request faults are ``sim.channels.RequestFault``s on the target venue's request channel
(target ``VENUE``); ``methods`` narrows them to some requests (default: all), and each request's
method is its trigger event (``on = "submit_order"``). Errors are built by
``harness.errors.error_from_http``, the one place a live adapter turns an HTTP answer into the
typed error tree, so a simulated 503 is exactly the error the live Binance adapter raises:

* ``http_5xx``: ``status`` (503) instead of the answer; ``reached_venue`` says whether the venue
  handled the request first (the order may exist: ambiguous) or never saw it;
* ``timeout``: no answer at all; ``accepted`` says whether the venue handled the request (its
  answer lost on the way back) or the request was lost on the way in. The client times out;
* ``exchange_error``: the venue fails in a way to alert on (Binance -1000, unknown error);
* ``invalid``: the venue refuses the request as malformed (Binance -1102), never retried;
* ``fatal``: the credentials are refused (401, Binance -2015): the engine disables the venue;
* ``rate_limit``: other traffic from our IP uses up the venue's weight budget at the start, so our
  requests meet real 429s from the venue's own limiter; with ``ignore_429`` that traffic keeps
  hammering until the venue bans the IP (418) for everyone on it;
* ``clock_skew``: the client's clock is ``skew_ms`` off while active; signed requests then fall
  outside the recvWindow (-1021) until the client learns the offset again;
* ``cancel_race``: just before a cancel reaches the venue, the market trades through the order's
  price for its whole remaining quantity: the order fills and the cancel finds nothing to cancel.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from harness.contract import ExchangeError, FatalError, InvalidRequestError
from harness.errors import error_from_http
from harness.model import Aggressor, OrderStatus, Trade
from harness.money import to_fixed
from sim.adapter import SimAdapter
from sim.faults.base import Fault, FaultError, FaultWorld
from sim.venue.desk import ORDER_ENTRY, RequestLost
from sim.venue.limits import VenueRateLimiter

__all__ = ["CancelRace", "ClockSkew", "ExchangeFailure", "Fatal", "Http5xx", "Invalid", "RateLimit", "RequestFailure",
           "Timeout"]

MS = 1_000_000


class RequestFailure(Fault):
    """A fault that answers some requests with an error, before or after the venue handled them."""

    after: ClassVar[str] = ""
    """The parameter saying whether the venue handled the request first (``""``: never)."""

    def install(self, world: FaultWorld) -> None:
        self._clock = world.clock
        self.adapter(world).requests_channel.faults.append(self)
        methods = self.param("methods")
        if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
            raise FaultError(f"fault {self.name!r}: methods must be a list of request names")
        self._methods = frozenset(methods)

    def _picks(self, method: str, now_ns: int) -> bool:
        if self._methods and method not in self._methods:
            return False
        return self.gate.fires(now_ns, method)

    def before_venue(self, method: str, now_ns: int) -> BaseException | None:
        """Refuse before the venue (when the venue is not meant to handle it first)."""
        if self.after and self.param(self.after):
            return None
        return self._strike(method, now_ns)

    def after_venue(self, method: str, now_ns: int) -> BaseException | None:
        """Replace the venue's answer (when the venue handled it first)."""
        if not (self.after and self.param(self.after)):
            return None
        return self._strike(method, now_ns)

    def _strike(self, method: str, now_ns: int) -> BaseException | None:
        if not self._picks(method, now_ns):
            return None
        self.touched(now_ns, method)
        return self.error(method)

    def error(self, method: str) -> BaseException:
        """The error the caller gets instead of the venue's answer."""
        raise NotImplementedError


class Http5xx(RequestFailure):
    """An HTTP 5xx answer (ambiguous for order entry, retryable otherwise)."""

    kind = "http_5xx"
    defaults: ClassVar[dict[str, Any]] = {"status": 503, "reached_venue": False, "methods": []}
    after: ClassVar[str] = "reached_venue"

    def error(self, method: str) -> BaseException:
        status = int(self.param("status"))
        if not 500 <= status <= 599:
            raise FaultError(f"fault {self.name!r}: status must be a 5xx, got {status}")
        return error_from_http(status, venue=self.venue, code=None, message=f"HTTP {status} (injected)",
                               retry_after_s=None, order_entry=method in ORDER_ENTRY)


class Timeout(RequestFailure):
    """No answer: the request or its answer is lost, and the client times out."""

    kind = "timeout"
    defaults: ClassVar[dict[str, Any]] = {"accepted": False, "methods": []}
    after: ClassVar[str] = "accepted"

    def error(self, method: str) -> BaseException:
        return RequestLost(f"{method} lost (injected)")


class ExchangeFailure(RequestFailure):
    """The venue fails unexpectedly (an EXCHANGE_ERROR: log, alert, mark the order uncertain)."""

    kind = "exchange_error"
    defaults: ClassVar[dict[str, Any]] = {"reached_venue": False, "methods": [], "code": -1000}
    after: ClassVar[str] = "reached_venue"

    def error(self, method: str) -> BaseException:
        return ExchangeError("An unknown error occurred while processing the request. (injected)",
                             venue=self.venue, code=int(self.param("code")))


class Invalid(RequestFailure):
    """The venue refuses the request as malformed (INVALID_REQUEST: returned to the caller, not retried)."""

    kind = "invalid"
    defaults: ClassVar[dict[str, Any]] = {"methods": [], "code": -1102}

    def error(self, method: str) -> BaseException:
        return InvalidRequestError("Mandatory parameter was not sent, was empty/null, or malformed. (injected)",
                                   venue=self.venue, code=int(self.param("code")), http_status=400)


class Fatal(RequestFailure):
    """The venue refuses our credentials (FATAL: the venue is disabled until a human re-enables it)."""

    kind = "fatal"
    defaults: ClassVar[dict[str, Any]] = {"methods": [], "code": -2015}

    def error(self, method: str) -> BaseException:
        return FatalError("Invalid API-key, IP, or permissions for action. (injected)", venue=self.venue,
                          code=int(self.param("code")), http_status=401)


class RateLimit(Fault):
    """Other traffic from our IP uses the venue's weight budget (and, ignoring 429s, gets the IP banned)."""

    kind = "rate_limit"
    defaults: ClassVar[dict[str, Any]] = {"weight": 0, "ignore_429": False}

    def install(self, world: FaultWorld) -> None:
        adapter = self.adapter(world)
        clock = world.clock

        def begin() -> None:
            self._burst(adapter, clock.now_ns())

        self.at_start(world, begin)

    def _burst(self, adapter: SimAdapter, now_ns: int) -> None:
        self.burst(adapter.sim_venue.limiter, now_ns)

    def burst(self, limiter: VenueRateLimiter, now_ns: int) -> None:
        """Use up ``limiter``'s budget now as the other traffic would (and hammer on to a ban with
        ``ignore_429``): the one burst, for a simulated venue and a served one alike."""
        budget = int(self.param("weight"))
        used = 0
        while (budget == 0 or used < budget) and limiter.share(now_ns, 1):
            used += 1
        note = f"{used} weight used by other traffic"
        if self.param("ignore_429"):
            for _ in range(1_000):  # the other traffic hammers on through its 429s until the IP is banned
                if limiter.banned_until_ns(now_ns) is not None:
                    break
                limiter.check(now_ns, "get_order_book")
            note += f"; IP banned until {limiter.banned_until_ns(now_ns)}"
        self.touched(now_ns, note)


class ClockSkew(Fault):
    """The client's clock is ``skew_ms`` off while active (then right again)."""

    kind = "clock_skew"
    defaults: ClassVar[dict[str, Any]] = {"skew_ms": -6000}

    def __post_init__(self) -> None:
        super().__post_init__()
        self._ended: int | None = None

    def install(self, world: FaultWorld) -> None:
        session = self.adapter(world).session
        clock = world.clock

        def begin() -> None:
            self.touched(clock.now_ns(), f"{self.param('skew_ms')} ms")
            session.clock_error_ns = int(self.param("skew_ms")) * MS

        def end() -> None:
            session.clock_error_ns = 0
            self._ended = clock.now_ns()

        self.at_start(world, begin, end)

    def end_time(self) -> int | None:
        return self._ended if self._ended is not None else self.last_ns


class CancelRace(Fault):
    """Just before a cancel reaches the venue, the market fills the order it cancels."""

    kind = "cancel_race"

    def install(self, world: FaultWorld) -> None:
        adapter = self.adapter(world)
        self._adapter = adapter
        self._market = world.markets[self.venue]
        self._clock = world.clock
        self._trades = 0
        adapter.desk.hooks.append(self._before_request)

    def _before_request(self, method: str, args: tuple[Any, ...]) -> None:
        if method != "cancel_order":
            return
        symbol, coid = args[0], args[1]
        venue = self._adapter.sim_venue
        order = venue.orders.get(coid)
        if order is None or order.status not in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
            return
        if order.request.price is None or not self.gate.fires(self._clock.now_ns(), method):
            return
        now = self._clock.now_ns()
        rules = venue.profile.symbols[symbol]
        buy = order.request.side.sign > 0
        price = order.request.price + (-rules.tick_size if buy else rules.tick_size)
        left: Decimal = order.request.quantity - order.filled
        self._trades += 1
        trade = Trade(now, now, venue.name, symbol, to_fixed(price), to_fixed(left),
                      int(Aggressor.SELLER if buy else Aggressor.BUYER), f"race-{self.name}-{self._trades}")
        self.touched(now, coid)
        self._adapter.desk.note("on_trade", (trade,))
        self._market.on_trade(trade)
