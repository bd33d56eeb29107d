"""Coinbase FIX 4.2 order entry: HMAC logon (Coinbase Prime's documented prehash) and standard 4.2 orders.

From ``spec/venues.md`` §3 (docs.cdp.coinbase.com/prime/fix-api/admin-messages):

* **Logon**: ``TargetCompID=COIN``, ``554`` Password = passphrase, ``9407`` AccessKey = API key,
  ``96`` RawData = ``base64(HMAC_SHA256(secret, SendingTime + "A" + MsgSeqNum + apiKey +
  TargetCompID + passphrase))`` (concatenated with no separator); SendingTime within 5 s of the
  venue's clock; ``141=Y``.
* **Orders**: FIX 4.2 ``D`` (``21=1`` HandlInst, ``18=A`` add-liquidity-only for post-only), ``F``,
  ``G`` (standard cancel/replace, ``41`` the order replaced, ``11`` its new id).
* **ExecutionReport**: FIX 4.2 has ``20`` ExecTransType (0) and tells fills apart in ExecType
  (``1`` partial, ``2`` full); ``1003`` TradeID, ``1057`` AggressorIndicator, ``12`` Commission
  (in the quote currency, which the reader fills in from the product id ``BASE-QUOTE``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

import simplefix

from harness.model import Liquidity, OrderRequest
from harness.registry import Credentials
from live.fix.dialects.base import FixDialect, FixKey, LogonRefused, liquidity_flag
from live.fix.dialects.reports import ExecKind, ExecutionReport
from live.fix.messages import Field, get_str
from live.fix.orders import parse_utc_timestamp
from live.fix.session_types import LogonContext
from live.signing import format_value

__all__ = ["COINBASE_FIX", "CoinbaseFixDialect", "coinbase_logon_signature", "ord_rej_reason"]

_NS = 1_000_000_000
SENDING_TIME_TOLERANCE_NS = 5 * _NS


def coinbase_logon_signature(secret: str, *, sending_time: str, msg_seq_num: int, api_key: str, target_comp_id: str,
                             passphrase: str) -> str:
    """Base64 HMAC-SHA256 of ``SendingTime A MsgSeqNum apiKey TargetCompID passphrase`` (no separator)."""
    prehash = f"{sending_time}A{msg_seq_num}{api_key}{target_comp_id}{passphrase}"
    return base64.b64encode(hmac.new(secret.encode("utf-8"), prehash.encode("utf-8"), hashlib.sha256).digest()
                            ).decode("ascii")


_REJECT_REASONS = MappingProxyType({"INVALID_PRODUCT_ID": "1", "INSUFFICIENT_FUND": "3", "NOT_FOUND": "5",
                                     "UNKNOWN_CANCEL_ORDER": "5", "DUPLICATE_CLIENT_ORDER_ID": "6"})


def ord_rej_reason(code: str) -> str:
    """FIX 4.2 OrdRejReason (``103``) for a venue refusal code: 1 unknown symbol, 3 exceeds limit (funds),
    5 unknown order, 6 duplicate order, 99 other (price and size precision, minimums)."""
    return _REJECT_REASONS.get(code, "99")


class CoinbaseFixDialect(FixDialect):
    """Coinbase's FIX 4.2 order entry (see the module docstring)."""

    name = "coinbase"
    begin_string = "FIX.4.2"
    venue_comp_id = "COIN"
    post_only_inst = "A"
    has_exec_trans_type = True
    exec_types = MappingProxyType({**FixDialect.exec_types, ExecKind.TRADE: "2"})

    def logon_fields(self, context: LogonContext, credentials: Credentials) -> list[Field]:
        """``554`` passphrase, ``9407`` access key, ``96`` the HMAC signature."""
        if not credentials.passphrase:
            raise ValueError("a Coinbase FIX logon needs the API key's passphrase")
        signature = coinbase_logon_signature(credentials.secret, sending_time=context.sending_time,
                                             msg_seq_num=context.msg_seq_num, api_key=credentials.api_key,
                                             target_comp_id=context.target_comp_id, passphrase=credentials.passphrase)
        return [(96, signature), (554, credentials.passphrase), (9407, credentials.api_key)]

    def verify_logon(self, message: simplefix.FixMessage, keys: Mapping[str, FixKey], now_ns: int) -> str:
        """Check the access key, passphrase, SendingTime (5 s) and the HMAC; returns the key."""
        api_key = get_str(message, 9407) or ""
        known = keys.get(api_key)
        if known is None or known.passphrase is None:
            raise LogonRefused("Unknown access key.")
        passphrase = get_str(message, 554) or ""
        if not hmac.compare_digest(passphrase.encode(), known.passphrase.encode()):
            raise LogonRefused("Invalid passphrase.")
        stamp = get_str(message, 52) or ""
        try:
            sent_ns = parse_utc_timestamp(stamp)
        except ValueError:
            raise LogonRefused("Invalid SendingTime.") from None
        if abs(now_ns - sent_ns) > SENDING_TIME_TOLERANCE_NS:
            raise LogonRefused("SendingTime is not within 5 seconds of the server time.")
        expected = coinbase_logon_signature(known.secret, sending_time=stamp,
                                            msg_seq_num=int(get_str(message, 34) or 0), api_key=api_key,
                                            target_comp_id=get_str(message, 56) or "", passphrase=passphrase)
        if not hmac.compare_digest(expected.encode(), (get_str(message, 96) or "").encode()):
            raise LogonRefused("Invalid signature.")
        return api_key

    def new_order(self, request: OrderRequest, now_ns: int) -> tuple[str, list[Field]]:
        """A FIX 4.2 D: the standard fields plus ``21=1`` (automated execution)."""
        msg_type, fields = super().new_order(request, now_ns)
        return msg_type, sorted([*fields, (21, "1")])

    def exec_type_of(self, report: ExecutionReport) -> str:
        """FIX 4.2: a fill is ``1`` (partial) or ``2`` (the order is filled)."""
        if report.kind is ExecKind.TRADE:
            return "1" if report.leaves_qty > 0 else "2"
        return super().exec_type_of(report)

    def extra_exec_types(self) -> dict[str, ExecKind]:
        """``1`` partial fill and ``2`` fill are trades."""
        return {"1": ExecKind.TRADE, "2": ExecKind.TRADE}

    def execution_extras(self, report: ExecutionReport) -> list[Field]:
        """TradeID, aggressor and commission on trades; OrdRejReason (``103``) on rejects."""
        if report.kind is ExecKind.REJECTED and report.error_code:
            return [(103, ord_rej_reason(report.error_code))]
        if report.kind is not ExecKind.TRADE:
            return []
        return [(12, format_value(report.fee)), (13, "3"), (1003, str(report.trade_id or 0)),
                (1057, liquidity_flag(report.liquidity))]

    def read_execution_extras(self, report: ExecutionReport, fields: Mapping[int, str]) -> ExecutionReport:
        """Trade id, aggressor and commission (in the product's quote currency); the quote amount is cum x avg."""
        cum_quote = report.cum_qty * (report.avg_px or Decimal(0))
        if report.kind is not ExecKind.TRADE:
            return replace(report, cum_quote=cum_quote, error_code=fields.get(103, ""))
        trade = fields.get(1003, "")
        try:
            fee = Decimal(fields.get(12, "0"))
        except InvalidOperation:
            fee = Decimal(0)
        quote = report.symbol.partition("-")[2]
        return replace(report, trade_id=int(trade) if trade.isdigit() else None, fee=fee, fee_asset=quote,
                       liquidity=Liquidity.TAKER if fields.get(1057) == "Y" else Liquidity.MAKER, cum_quote=cum_quote)


COINBASE_FIX = CoinbaseFixDialect()
"""The one Coinbase FIX dialect."""
