"""The mode guard of every live transport: a SANDBOX transport refuses a non-sandbox URL.

The registry already refuses a SANDBOX ``VenueConfig`` whose endpoints leave the venue's sandbox
hosts or loopback (``harness.registry.check_endpoints``, Property 4). A transport can be built
from a bare URL too (tests, tools, the local venue), so each one checks its URL again here, with
the registry's own allow-list: there is one rule, and the transports cannot drift from it.
"""

from __future__ import annotations

from typing import Literal

from harness.model import VenueMode
from harness.registry import AuthMethod, VenueConfig

__all__ = ["TransportKind", "check_transport_url"]

TransportKind = Literal["rest", "ws", "fix"]
"""Which endpoint field of a venue config a URL stands for."""

_PLACEHOLDER_REST = "http://127.0.0.1"  # loopback: accepted in every mode, so only ``url`` is judged


def check_transport_url(venue: str, mode: VenueMode, url: str, kind: TransportKind) -> None:
    """Raise the registry's ``SandboxViolationError`` (a ``ConfigError``) when ``url`` may not be used.

    The URL is judged exactly as the registry judges a config's ``rest_endpoint``,
    ``ws_endpoint`` or ``fix_endpoint`` for ``venue`` in ``mode`` (scheme, user info, host).
    """
    if not isinstance(mode, VenueMode):
        raise TypeError(f"mode must be a VenueMode, not {type(mode).__name__}")
    VenueConfig(
        venue_id=venue,
        tenant_id="transport-guard",
        mode=mode,
        rest_endpoint=url if kind == "rest" else _PLACEHOLDER_REST,
        ws_endpoint=url if kind == "ws" else None,
        fix_endpoint=url if kind == "fix" else None,
        auth_method=AuthMethod.HMAC,
        supported_features=frozenset(),
    )
