"""Three pure ASGI middlewares. ``BodyLimit``: request bodies bounded as they stream in (a
declared ``Content-Length`` over the limit is refused with 413 before a byte is read, and
a body without one (chunked) is cut off at the limit; upload routes get the larger limit).
``SecurityHeaders``: every answer tells the browser not to sniff types, frame the page or
send the address elsewhere, and every API answer (patient data) not to be cached.
``InternalErrors``: a bug answers 500 and logs one line naming the exception's type only
(its message and traceback may quote report text), unless debug logging is on."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(
        self, app: ASGIApp, *, default: int, uploads: int, upload_paths: tuple[str, ...]
    ) -> None:
        self.app = app
        self.default = default
        self.uploads = uploads
        self.upload_paths = upload_paths

    def limit_for(self, path: str) -> int:
        return self.uploads if path in self.upload_paths else self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = True
            if too_big:
                await _refuse(send, limit)
                return
        state = {"seen": 0, "over": False, "started": False}

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > limit:
                    state["over"] = True
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            # The framework may turn the cut-off body into its own error answer (FastAPI
            # answers 400 for a body it could not parse): the client is told 413 instead.
            if state["over"]:
                if not state["started"]:
                    state["started"] = True
                    await _refuse(send, limit)
                return
            state["started"] = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not state["started"]:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request bodies over {limit:,} bytes are refused"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = str(scope.get("path", "")).startswith("/api/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in _ALWAYS if k not in names]
                if api and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class InternalErrors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            log.error("internal error (%s) on %s", type(exc).__name__, scope.get("method"))
            log.debug("internal error", exc_info=True)
            if started:
                raise
            body = json.dumps({"detail": f"internal error ({type(exc).__name__})"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
