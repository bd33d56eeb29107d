"""Coinbase FIX refusals as contract errors.

A Rejected ExecutionReport carries FIX 4.2 OrdRejReason (``103``, ``live.fix.dialects.coinbase``):
6 is a duplicate ClOrdID (``DuplicateOrderError``), 5 an unknown order (``OrderNotFoundError``),
anything else ``InvalidRequestError``, with the reason kept as the error's code. Cancel rejects,
business and session rejects are read as for every FIX dialect (``fix_answer_error``).
"""

from __future__ import annotations

from typing import Any

from harness.contract import DuplicateOrderError, InvalidRequestError, OrderNotFoundError, VenueError
from live.binance.fix_adapter import fix_answer_error
from live.fix.dialects.reports import ExecutionReport

__all__ = ["coinbase_fix_error"]


def coinbase_fix_error(answer: Any, venue: str) -> VenueError:
    """The contract error of one Coinbase FIX refusal (see the module docstring)."""
    if isinstance(answer, ExecutionReport) and answer.error_code.isdigit():
        reason = int(answer.error_code)
        cls = DuplicateOrderError if reason == 6 else OrderNotFoundError if reason == 5 else InvalidRequestError
        return cls(answer.text or "order rejected", venue=venue, code=reason)
    return fix_answer_error(answer, venue)
