"""Roles, permissions and login limits of the service, as data (``data/access.json``).

A route names one permission; :func:`allowed` says whether a role holds it. The table is
checked when loaded: every role a permission lists is a known role, every role holds at
least ``self``, and the de-identified roles are known roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from pydantic import Field

from radpilot.datafiles import DataDocument, DataFile, DataModel
from radpilot.errors import InputError, VocabularyError


class Role(StrEnum):
    RADIOLOGIST = "radiologist"
    RESEARCHER = "researcher"
    ADMIN = "admin"

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls(value.strip().lower())
        except ValueError:
            valid = ", ".join(r.value for r in cls)
            raise InputError(f"role {value!r} is not a role; valid: {valid}") from None


class LoginLimits(DataModel):
    window_seconds: float = Field(gt=0, description="The sliding window the counts cover.")
    failures_per_user: int = Field(
        ge=1, description="Failed logins of one user name in the window before it is refused."
    )
    attempts_per_address: int = Field(
        ge=1, description="Login attempts from one client address in the window."
    )


class AccessFile(DataDocument):
    """``access.json``: roles, the roles each permission is granted to, login limits."""

    version: str
    roles: dict[Role, str] = Field(description="Each role and what it is for.")
    permissions: dict[str, list[Role]] = Field(
        description="Permission name -> the roles that hold it."
    )
    deidentified: list[Role] = Field(description="Roles that see patient data de-identified only.")
    login_limits: LoginLimits


ACCESS = DataFile("radpilot.server", "data/access.json", AccessFile)


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    permissions: dict[str, frozenset[Role]]
    deidentified: frozenset[Role]
    limits: LoginLimits

    def allowed(self, role: Role, permission: str) -> bool:
        return role in self.permission(permission)

    def permission(self, name: str) -> frozenset[Role]:
        try:
            return self.permissions[name]
        except KeyError:
            raise VocabularyError(
                f"{ACCESS.where}: no permission {name!r}; valid: {', '.join(self.permissions)}"
            ) from None


@cache
def policy() -> AccessPolicy:
    """The checked access table (loaded once)."""
    doc = ACCESS.load()
    missing = [r.value for r in Role if r not in doc.roles]
    if missing:
        raise VocabularyError(f"{ACCESS.where}: roles: missing {', '.join(missing)}")
    perms = {name: frozenset(roles) for name, roles in doc.permissions.items()}
    if perms.get("self") != frozenset(Role):
        raise VocabularyError(f"{ACCESS.where}: permissions: 'self' must list every role")
    return AccessPolicy(perms, frozenset(doc.deidentified), doc.login_limits)
