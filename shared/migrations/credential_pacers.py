"""The worker's pacers: one per credential in this process, each drawing its request slots
from the credential's budget ledger in the org's region (``shared.store.budget_ledger``),
which every worker process and every Functions instance shares.

The connector registry's own pacers (``shared.connectors.registry.shared_pacer``) are keyed
by an HMAC under a per-process random key, so two processes could never find one ledger by
it; here the key is an HMAC under a region-wide key (``CosmosBudgetLedger.credential_key``).
The budget is the connector's declared limit read as the vendor's sliding window, sized
window-exact (``shared.contract.budget.window_exact``).
"""

from __future__ import annotations

from shared.connectors.registry import rate_limit_of
from shared.connectors.settings import ConnectionBase, credential_identity
from shared.contract.budget import window_exact
from shared.contract.pacer import Pacer
from shared.store.budget_ledger import CosmosBudgetLedger
from shared.tenancy.context import TenantContext


class CredentialPacers:
    """Process-wide: pacers by credential key (reader and writer of one credential, and two
    connectors holding the same credential, share one)."""

    def __init__(self, max_size: int = 256) -> None:
        self.max_size = max_size
        self._ledgers: dict[str, CosmosBudgetLedger] = {}
        self._pacers: dict[str, Pacer] = {}

    async def pacer_for(self, ctx: TenantContext, connection: ConnectionBase) -> Pacer:
        ledger = self._ledgers.get(ctx.region)
        if ledger is None:
            ledger = self._ledgers[ctx.region] = CosmosBudgetLedger(ctx.cosmos)
        public, secrets = credential_identity(connection)  # one budget before and after a rotation
        key = f"{ctx.region}:{await ledger.credential_key(connection.kind, public, secrets)}"
        limit = rate_limit_of(connection.kind)
        pacer = self._pacers.pop(key, None)
        if pacer is None or pacer.limit != limit:
            pacer = Pacer(limit, budget=ledger.budget(key.partition(":")[2], window_exact(limit)))
        self._pacers[key] = pacer  # most recently used last
        while len(self._pacers) > self.max_size:
            self._pacers.pop(next(iter(self._pacers)))
        return pacer
