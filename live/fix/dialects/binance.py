"""Binance Spot FIX 4.4 order entry (``fix-api.md``; ``spec/venues.md`` §1.10): Ed25519 logon, custom tags.

* **Logon**: ``TargetCompID=SPOT``, SenderCompID ``^[A-Za-z0-9_-]{1,8}$``, ``141=Y`` (sequence
  numbers reset at every logon), ``553`` Username = API key, ``95``/``96`` RawData = the base64
  Ed25519 signature of ``A SOH Sender SOH Target SOH MsgSeqNum SOH SendingTime`` (vector F1),
  ``25035`` MessageHandling (2 SEQUENTIAL). ``108`` must be 5..60.
* **Orders**: ``D`` with ``18=6`` for post-only (LIMIT_MAKER); ``F`` by ``41`` or ``37``; the
  cancel/replace is the custom ``XCN`` (OrderCancelRequestAndNewOrderSingle: ``25033`` mode 1
  STOP_ON_FAILURE, ``25034`` CancelClOrdID, ``41``/``37`` the order cancelled, ``11`` and the new
  order's fields; there is no ``G``). The XCN tag numbers are as recalled from ``fix-api.md``.
* **ExecutionReport extras**: ``25017`` CumQuoteQty, ``1003`` TradeID, ``1057`` AggressorIndicator,
  ``636`` WorkingIndicator, ``25016`` ErrorCode, fees as ``136``/``137``/``138``/``139`` (MiscFees,
  type 4 exchange fees). ``EXPIRED_IN_MATCH`` is OrdStatus ``C``.

The venue holds only the API key's public key (``FixKey.secret``: the Ed25519 public key PEM).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal, InvalidOperation

import simplefix
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from harness.model import Liquidity, OrderRequest
from harness.registry import Credentials
from live.fix.dialects.base import FixDialect, FixKey, LogonRefused, liquidity_flag
from live.fix.dialects.reports import ExecKind, ExecutionReport, ReplaceRequest
from live.fix.messages import Field, get_str
from live.fix.session_types import LogonContext
from live.signing import binance_fix_logon_payload, ed25519_sign_b64, format_value, load_ed25519_key

__all__ = ["BINANCE_FIX", "BinanceFixDialect", "ed25519_public_pem"]

_COMP_ID = re.compile(r"^[A-Za-z0-9_-]{1,8}$")


def ed25519_public_pem(private_pem: str) -> str:
    """The public key PEM of an Ed25519 private key PEM (what the venue registers for an API key)."""
    key = load_ed25519_key(private_pem)
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")


class BinanceFixDialect(FixDialect):
    """Binance Spot's FIX order entry (see the module docstring)."""

    name = "binance"
    begin_string = "FIX.4.4"
    venue_comp_id = "SPOT"
    replace_type = "XCN"

    def logon_fields(self, context: LogonContext, credentials: Credentials) -> list[Field]:
        """``95``/``96`` signature, ``553`` API key, ``25035=2``."""
        if not _COMP_ID.match(context.sender_comp_id):
            raise ValueError("a Binance FIX SenderCompID is 1-8 characters of [A-Za-z0-9_-]")
        payload = binance_fix_logon_payload(context.msg_type, context.sender_comp_id, context.target_comp_id,
                                            context.msg_seq_num, context.sending_time)
        signature = ed25519_sign_b64(load_ed25519_key(credentials.secret), payload)
        return [(95, str(len(signature))), (96, signature), (553, credentials.api_key), (25035, "2")]

    def verify_logon(self, message: simplefix.FixMessage, keys: Mapping[str, FixKey], now_ns: int) -> str:
        """Check the API key, the signature over the header values, ``141=Y`` and ``108``; returns the key."""
        api_key = get_str(message, 553) or ""
        known = keys.get(api_key)
        if known is None:
            raise LogonRefused("Invalid API-key, IP, or permissions for action.")
        sender = get_str(message, 49) or ""
        if not _COMP_ID.match(sender):
            raise LogonRefused("SenderCompID must match ^[a-zA-Z0-9-_]{1,8}$.")
        if get_str(message, 141) != "Y":
            raise LogonRefused("ResetSeqNumFlag(141) must be Y.")
        interval = get_str(message, 108) or ""
        if not interval.isdigit() or not 5 <= int(interval) <= 60:
            raise LogonRefused("HeartBtInt(108) must be within 5-60.")
        payload = binance_fix_logon_payload("A", sender, get_str(message, 56) or "", int(get_str(message, 34) or 0),
                                            get_str(message, 52) or "")
        try:
            public = load_pem_public_key(known.secret.encode("ascii"))
            if not isinstance(public, Ed25519PublicKey):
                raise LogonRefused("The API key is not an Ed25519 key.")
            public.verify(base64.b64decode(get_str(message, 96) or "", validate=True), payload)
        except (InvalidSignature, ValueError):
            raise LogonRefused("Signature for this request is not valid.") from None
        return api_key

    def new_order(self, request: OrderRequest, now_ns: int) -> tuple[str, list[Field]]:
        """Binance's D carries no TransactTime (its samples: ``11, 38, 40, 44, 54, 55, 59``)."""
        msg_type, fields = super().new_order(request, now_ns)
        return msg_type, [f for f in fields if f[0] != 60]

    def replace(self, request: ReplaceRequest, now_ns: int) -> tuple[str, list[Field]]:
        """``XCN``: cancel ``41``/``37`` (STOP_ON_FAILURE) and place the new order ``11``."""
        _, fields = super().replace(request, now_ns)
        fields = [f for f in fields if f[0] != 60]
        return self.replace_type, sorted([*fields, (25033, "1"), (25034, f"{request.cl_ord_id}-c")])

    def execution_extras(self, report: ExecutionReport) -> list[Field]:
        """CumQuoteQty, WorkingIndicator; on trades TradeID, Aggressor, fees; on rejects ErrorCode."""
        fields: list[Field] = [(636, "Y" if report.status.is_open else "N"), (25017, format_value(report.cum_quote))]
        if report.kind is ExecKind.TRADE:
            fields += [(1003, str(report.trade_id or 0)), (1057, liquidity_flag(report.liquidity))]
            if report.fee_asset:
                fields += [(136, "1"), (137, format_value(report.fee)), (138, report.fee_asset), (139, "4")]
        if report.error_code:
            fields.append((25016, report.error_code))
        return fields

    def read_execution_extras(self, report: ExecutionReport, fields: Mapping[int, str]) -> ExecutionReport:
        """Trade id, aggressor, fee and error code from Binance's fields."""
        trade = fields.get(1003, "")
        try:
            fee = Decimal(fields.get(137, "0"))
            cum_quote = Decimal(fields.get(25017, "0"))
        except InvalidOperation:
            fee, cum_quote = Decimal(0), Decimal(0)
        liquidity = None if 1057 not in fields else Liquidity.TAKER if fields[1057] == "Y" else Liquidity.MAKER
        return replace(report, trade_id=int(trade) if trade.isdigit() else None, liquidity=liquidity, fee=fee,
                       fee_asset=fields.get(138, ""), cum_quote=cum_quote, error_code=fields.get(25016, ""))


BINANCE_FIX = BinanceFixDialect()
"""The one Binance Spot FIX dialect."""
