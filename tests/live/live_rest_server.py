"""A tiny Binance-like REST server on 127.0.0.1 for the transport tests (not the local venue).

It checks what a real venue checks: the API-key header, the HMAC signature over the raw query
string plus the raw body (signature removed), and the timestamp against its own clock and the
recvWindow (``-1021``). ``skew_ms`` moves its clock; ``fail`` makes the next answers errors.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

from aiohttp import web


@dataclass
class Failure:
    """One scripted error answer."""

    status: int
    code: int | None = None
    msg: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def _split_signature(raw: str) -> tuple[str, str | None]:
    parts = raw.split("&") if raw else []
    kept = [p for p in parts if not p.startswith("signature=")]
    sig = [p for p in parts if p.startswith("signature=")]
    return "&".join(kept), unquote(sig[0].split("=", 1)[1]) if sig else None


class MiniBinance:
    """Serves /api/v3/time, a signed /api/v3/order and /api/v3/account, /hang and scripted failures."""

    def __init__(self, api_key: str, secret: str, *, skew_ms: int = 0) -> None:
        self.api_key = api_key
        self.secret = secret
        self.skew_ms = skew_ms
        self.always_stale = False
        self.failures: list[Failure] = []
        self.hits: list[str] = []
        self.received: list[dict[str, str]] = []
        self._runner: web.AppRunner | None = None
        self._release = asyncio.Event()
        self.base_url = ""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.skew_ms

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/api/v3/time", self._time)
        app.router.add_route("*", "/api/v3/order", self._signed)
        app.router.add_get("/api/v3/account", self._signed)
        app.router.add_route("*", "/hang", self._hang)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def _error(self, status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response({"code": code, "msg": msg}, status=status, headers=headers)

    async def _time(self, request: web.Request) -> web.Response:
        self.hits.append("time")
        return web.json_response({"serverTime": self.now_ms()}, headers={"X-MBX-USED-WEIGHT-1M": "1"})

    async def _hang(self, request: web.Request) -> web.Response:
        self.hits.append("hang")
        await self._release.wait()  # until stop(): the client must time out first
        return web.json_response({})

    async def _signed(self, request: web.Request) -> web.Response:
        self.hits.append(request.path.rsplit("/", 1)[1])
        if self.failures:
            f = self.failures.pop(0)
            if f.code is None:
                return web.Response(status=f.status, text=f.msg, headers=f.headers)
            return self._error(f.status, f.code, f.msg, f.headers)
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            return self._error(401, -2015, "Invalid API-key, IP, or permissions for action.")
        raw_query = request.raw_path.partition("?")[2]
        raw_body = (await request.read()).decode()
        query, q_sig = _split_signature(raw_query)
        body, b_sig = _split_signature(raw_body)
        signature = q_sig or b_sig
        expected = hmac.new(self.secret.encode(), (query + body).encode(), hashlib.sha256).hexdigest()
        if signature is None or not hmac.compare_digest(signature.lower(), expected):
            return self._error(400, -1022, "Signature for this request is not valid.")
        params = dict(parse_qsl(query)) | dict(parse_qsl(body))
        self.received.append(params)
        server = self.now_ms()
        ts, window = int(params["timestamp"]), int(params.get("recvWindow", "5000"))
        if self.always_stale or not (ts < server + 1000 and server - ts <= window):
            return self._error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        if request.path.endswith("account"):
            return web.json_response({"balances": [{"asset": "BTC", "free": "1.00000000", "locked": "0"}]},
                                     headers={"X-MBX-USED-WEIGHT-1M": "21"})
        ack = {"symbol": params["symbol"], "orderId": len(self.received), "orderListId": -1,
               "clientOrderId": params.get("newClientOrderId", ""), "transactTime": server}
        return web.Response(text=json.dumps(ack), content_type="application/json",
                            headers={"X-MBX-USED-WEIGHT-1M": "7", "X-MBX-ORDER-COUNT-10S": "3",
                                     "X-MBX-ORDER-COUNT-1D": "12"})
