"""A service for tests: a tmp archive, a user of each role, a bearer token each."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from radpilot.server.access import Role
from radpilot.server.accounts import add_user
from radpilot.server.app import create_app
from radpilot.server.settings import Settings

# The backends a module runs its service tests on with `SERVICE_BACKENDS = BOTH`.
BOTH = ("sqlite", "postgres")
PASSWORDS = {role: f"pw-{role.value}-1234" for role in Role}
REPORTS = [
    {
        "id": "R1",
        "text": "Small left pleural effusion. No pneumothorax.",
        "patient_id": "P-001",
        "study_date": "2024-01-02",
        "modality": "CR",
    },
    {
        "id": "R2",
        "text": "No effusion. Heart size normal.",
        "patient_id": "P-002",
        "study_date": "2024-02-03",
        "modality": "DX",
    },
]


@dataclass
class Service:
    app: FastAPI
    client: TestClient
    db: Path | str  # an SQLite file or a postgresql:// URL
    tokens: dict[Role, str]

    def auth(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def fresh_auth(self, role: Role) -> dict[str, str]:
        """A new token of ``role`` (for a request that revokes the token it carries)."""
        return {"Authorization": f"Bearer {login(self.client, role)}"}


def user_name(role: Role) -> str:
    return f"{role.value}1"


def make_service(db: Path | str, settings: Settings | None = None) -> Service:
    app = create_app(replace(settings, db=str(db)) if settings else Settings(db=str(db)))
    store = app.state.ctx.store
    known = {u.name for u in store.users()}
    for role in Role:
        if user_name(role) not in known:
            add_user(store, user_name(role), role, PASSWORDS[role])
    client = TestClient(app)
    return Service(app, client, db, {role: login(client, role) for role in Role})


def login(client: TestClient, role: Role) -> str:
    r = client.post("/api/token", data={"username": user_name(role), "password": PASSWORDS[role]})
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token
