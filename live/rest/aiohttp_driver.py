"""The thin aiohttp driver of the REST transport: send a ``PreparedRequest``, return a ``RawResponse``.

Everything protocol-specific happened before (``BinanceRestProtocol.prepare``); this module only
moves bytes and translates aiohttp's exceptions into the contract's typed errors, here and nowhere
else:

* the connection could not be opened (refused, DNS, connect timeout): ``RetryableError``; the
  request never left, so even an order submit is safe to retry;
* the request left but no complete answer came back (read timeout, total timeout, server
  disconnect, broken payload): ``AmbiguousError`` for an order-entry request (the order may exist),
  ``RetryableError`` otherwise;
* any other client failure: ``ExchangeError``.

Timeouts default to 5 s connect, 10 s between reads and 30 s in total. The URL is sent exactly as
prepared (``encoded=True``): re-quoting it would change the bytes the signature covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import aiohttp
from yarl import URL

from harness.contract import AmbiguousError, ExchangeError, RetryableError, VenueError
from harness.errors import scrub
from live.rest.protocol import PreparedRequest, RawResponse

__all__ = ["AiohttpSender", "RestTimeouts"]


@dataclass(frozen=True, slots=True)
class RestTimeouts:
    """Connect, per-read and total timeouts in seconds (``Decimal`` or int; floats only at aiohttp)."""

    connect_s: Decimal = Decimal(5)
    read_s: Decimal = Decimal(10)
    total_s: Decimal = Decimal(30)

    def __post_init__(self) -> None:
        for name in ("connect_s", "read_s", "total_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | Decimal) or not value > 0:
                raise ValueError(f"{name} must be a positive int or Decimal, got {value!r}")

    def client_timeout(self) -> aiohttp.ClientTimeout:
        """The aiohttp form (floats are aiohttp's own unit for durations)."""
        return aiohttp.ClientTimeout(total=float(self.total_s), connect=float(self.connect_s),
                                     sock_read=float(self.read_s))


class AiohttpSender:
    """Sends prepared requests over one ``aiohttp.ClientSession`` (created on first use)."""

    def __init__(self, *, timeouts: RestTimeouts | None = None, venue: str = "binance") -> None:
        self.timeouts = timeouts or RestTimeouts()
        self._venue = venue
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeouts.client_timeout())
        return self._session

    async def send(self, request: PreparedRequest) -> RawResponse:
        """Send one request; raise only typed ``VenueError``s (see the module docstring)."""
        session = self._get_session()
        try:
            async with session.request(request.method, URL(request.url, encoded=True), data=request.body,
                                       headers=dict(request.headers), allow_redirects=False) as response:
                body = await response.read()
                headers = {name.lower(): value for name, value in response.headers.items()}
                return RawResponse(status=response.status, headers=headers, body=body)
        except VenueError:
            raise
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
            raise RetryableError(self._text("could not connect", exc), venue=self._venue) from None
        except (TimeoutError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError,
                aiohttp.ClientPayloadError) as exc:
            cls = AmbiguousError if request.order_entry else RetryableError
            raise cls(self._text("no complete answer", exc), venue=self._venue) from None
        except aiohttp.ClientError as exc:
            raise ExchangeError(self._text("client error", exc), venue=self._venue) from None

    @staticmethod
    def _text(what: str, exc: BaseException) -> str:
        detail = str(exc)
        return scrub(f"{what}: {type(exc).__name__}" + (f": {detail}" if detail else ""))

    async def close(self) -> None:
        """Close the session (idempotent)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
