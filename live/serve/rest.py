"""The local venue's REST endpoints on aiohttp: Binance paths, raw parameters, Binance answers.

Every ``/api/v3/<path>`` (and ``/api/v1/<path>``, which some clients still call) goes through
``RequestPipeline`` with the *raw* query string and body, since the signature covers the bytes
as sent. The answer is the JSON result with the venue's usage headers
(``X-MBX-USED-WEIGHT-1M``, and ``X-MBX-ORDER-COUNT-10S``/``-1D`` on orders), or
``{"code", "msg"}`` with the venue's HTTP status (``Retry-After`` on 429/418). A request fault
asking for a timeout closes the connection without an answer; a request delay (latency spike)
holds the request that long before the venue sees it.
"""

from __future__ import annotations

import json

from aiohttp import web

from live.serve.auth import BinanceApiError, parse_params
from live.serve.pipeline import DropConnection, RequestPipeline

__all__ = ["add_rest_routes"]


def _json(payload: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=json.dumps(payload, separators=(",", ":")), status=status,
                        content_type="application/json", headers=headers)


def add_rest_routes(app: web.Application, pipeline: RequestPipeline) -> None:
    """Route ``/api/v1/*`` and ``/api/v3/*`` to ``pipeline``."""

    async def handle(request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        endpoint = f"{request.method} /api/v3/{tail}"
        raw_query = request.rel_url.raw_query_string
        raw_body = (await request.read()).decode("utf-8", errors="replace") if request.can_read_body else ""
        try:
            params = parse_params(raw_query, raw_body)
            delay = pipeline.delay_ns(endpoint, params)
            if delay:
                await pipeline.clock.sleep_ns(delay)
            answer = pipeline.handle(endpoint, params, request.headers.get("X-MBX-APIKEY"))
        except BinanceApiError as refused:
            return _json(refused.body(), refused.status, dict(refused.headers))
        except DropConnection:
            if request.transport is not None:
                request.transport.abort()
            raise web.HTTPServiceUnavailable() from None
        return _json(answer.result, 200, dict(answer.headers))

    app.router.add_route("*", "/api/v1/{tail:.*}", handle)
    app.router.add_route("*", "/api/v3/{tail:.*}", handle)
