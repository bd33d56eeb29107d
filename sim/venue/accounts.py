"""The account of one simulated venue: free and locked funds per asset, on the 1e-9 grid.

Balances are ``Decimal`` and change only on orders (a hold moves funds from free to locked and
back) and on fills (cash flows between two assets). Conservation holds by construction: free +
locked of every asset changes only through ``transfer``. Every amount stays on the 1e-9 grid of
``harness.money``: holds are rounded up onto it (``hold_on_grid``: an order never holds less than
it needs), trade amounts half-even (``on_grid``), and moves between free and locked are exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, Context, Decimal

from harness.model import Balance

__all__ = ["ZERO", "Accounts", "hold_on_grid", "on_grid"]

ZERO = Decimal(0)
_UNIT = Decimal(1).scaleb(-9)  # the grid of harness.money (SCALE = 10**9)
_WIDE = Context(prec=80)


def on_grid(amount: Decimal) -> Decimal:
    """``amount`` on the 1e-9 grid, rounded half-even (exact amounts only change exponent)."""
    return amount.quantize(_UNIT, context=_WIDE)


def hold_on_grid(amount: Decimal) -> Decimal:
    """A hold on the 1e-9 grid, rounded up so that it always covers what the order needs."""
    return amount.quantize(_UNIT, rounding=ROUND_CEILING, context=_WIDE)


class Accounts:
    """Free and locked funds per asset of one venue account.

    ``free`` and ``locked`` are plain dicts (tests and invariant checks read them directly); an
    asset first seen in a transfer starts at zero.
    """

    __slots__ = ("free", "locked")

    def __init__(self, balances: Mapping[str, Decimal]) -> None:
        self.free: dict[str, Decimal] = {asset: on_grid(Decimal(v)) for asset, v in balances.items()}
        self.locked: dict[str, Decimal] = dict.fromkeys(self.free, on_grid(ZERO))

    def hold(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` of ``asset`` from free to locked (negative: back to free)."""
        self.free[asset] = self.free.get(asset, ZERO) - amount
        self.locked[asset] = self.locked.get(asset, ZERO) + amount

    def release(self, asset: str, amount: Decimal) -> None:
        """Move ``amount`` of ``asset`` from locked back to free."""
        self.locked[asset] -= amount
        self.free[asset] = self.free.get(asset, ZERO) + amount

    def transfer(self, pay_asset: str, pay: Decimal, receive_asset: str, receive: Decimal) -> None:
        """Settle a fill: ``pay`` leaves the free ``pay_asset``, ``receive`` joins the free ``receive_asset``."""
        self.free[pay_asset] = self.free.get(pay_asset, ZERO) - pay
        self.free[receive_asset] = self.free.get(receive_asset, ZERO) + receive

    def free_plus(self, asset: str, amount: Decimal) -> dict[str, Decimal]:
        """A copy of the free balances with ``amount`` added to ``asset`` (what an order could use)."""
        free = dict(self.free)
        free[asset] = free.get(asset, ZERO) + amount
        return free

    def balances(self) -> dict[str, Balance]:
        """Free and locked funds per asset, sorted by asset."""
        assets = sorted(set(self.free) | set(self.locked))
        return {a: Balance(a, self.free.get(a, ZERO), self.locked.get(a, ZERO)) for a in assets}
