"""The real world: transports (REST, WebSocket, FIX) and signing for the live venue adapters.

``live.signing`` signs requests; ``live.rest``, ``live.ws`` and ``live.fix`` are the transports,
each a protocol core without I/O plus a thin driver (aiohttp, websockets, asyncio TCP). Nothing
here imports ``sim``; the shared layer (``harness``) is imported, never the other way round.
"""

__all__ = ["backoff", "fix", "guard", "redaction", "rest", "signing", "ws"]
