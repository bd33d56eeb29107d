"""What to send for a ResendRequest, as a pure plan: stored messages again, gap fills for the rest.

Given the requested range and the application messages we stored, ``resend_plan`` lists, in
order, each stored message to resend (``PossDupFlag=Y``) and, for every run of numbers with no
stored message (administrative messages, never resent), one SequenceReset-GapFill whose
``MsgSeqNum`` is the run's first number and whose ``NewSeqNo`` is the number after the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ResendItem", "resend_plan"]


@dataclass(frozen=True, slots=True)
class ResendItem:
    """Resend ``raw`` as ``seq``; or, when ``raw`` is ``None``, gap-fill ``seq`` .. ``next_seq - 1``."""

    seq: int
    raw: bytes | None
    next_seq: int


def resend_plan(begin: int, end: int, stored: Mapping[int, bytes]) -> list[ResendItem]:
    """The messages answering a ResendRequest for ``begin..end`` (inclusive; empty if ``end < begin``)."""
    plan: list[ResendItem] = []
    run_start: int | None = None
    for seq in range(begin, end + 1):
        raw = stored.get(seq)
        if raw is None:
            if run_start is None:
                run_start = seq
            continue
        if run_start is not None:
            plan.append(ResendItem(run_start, None, seq))
            run_start = None
        plan.append(ResendItem(seq, raw, seq + 1))
    if run_start is not None:
        plan.append(ResendItem(run_start, None, end + 1))
    return plan
