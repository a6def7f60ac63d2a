"""What every route shares: settings, the service store, tokens, the login limiter, the
access policy, pseudonyms, and the audit call. One per app (``app.state.ctx``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import Request

from radpilot.server.access import AccessPolicy
from radpilot.server.accounts import Principal, Tokens
from radpilot.server.models import AuditEvent, ServiceStore
from radpilot.server.privacy import Pseudonymiser
from radpilot.server.ratelimit import LoginLimiter
from radpilot.server.settings import Settings

log = logging.getLogger(__name__)

MAX_TARGET = 2000  # characters of ids kept in one audit entry (the count is always kept)


@dataclass(frozen=True)
class ServiceContext:
    settings: Settings
    store: ServiceStore
    tokens: Tokens
    limiter: LoginLimiter
    policy: AccessPolicy
    pseudonyms: Pseudonymiser

    def audit(
        self,
        request: Request,
        who: Principal | None,
        action: str,
        target: str | list[str] = "",
        *,
        outcome: str = "ok",
        detail: str = "",
        actor: str | None = None,
        role: str | None = None,
    ) -> None:
        """Append who did what to which ids, from where, to the audit trail."""
        if isinstance(target, list):
            count = len(target)
            joined = ",".join(target)
            if len(joined) > MAX_TARGET:
                joined = joined[:MAX_TARGET].rsplit(",", 1)[0] + ",..."
            target = joined
            detail = f"{count} item(s)" + (f"; {detail}" if detail else "")
        event = AuditEvent(
            actor=actor if actor is not None else (who.name if who else "-"),
            role=role if role is not None else (who.role.value if who else "-"),
            action=action,
            target=target,
            client=client_address(request),
            outcome=outcome,
            detail=detail,
        )
        self.store.append_audit(event)

    def deidentified(self, who: Principal) -> bool:
        return who.role in self.policy.deidentified


def client_address(request: Request) -> str:
    return request.client.host if request.client else "-"


def context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx
