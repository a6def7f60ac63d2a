"""Strict loading of the imaging rule files in ``radpilot/imaging/data/``.

Each file is a JSON object; keys starting with ``_`` are documentation. A missing key,
an unknown key or a value of the wrong type raises ``VocabularyError`` naming the file
and listing the allowed keys, so a typo in a rule file never passes silently.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from radpilot.errors import VocabularyError


def load_rules(name: str, schema: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    """The rule file ``name`` checked against ``schema`` (key -> expected type)."""
    try:
        text = (resources.files("radpilot.imaging") / "data" / name).read_text("utf-8")
    except FileNotFoundError:
        raise VocabularyError(f"imaging rule file {name!r} is missing from the package") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VocabularyError(f"imaging/data/{name}: invalid JSON: {exc}") from None
    return check_rules(name, data, schema)


def check_rules(name: str, data: Any, schema: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    """Validate an already-parsed rule object (also used by tests on broken copies)."""
    if not isinstance(data, dict):
        raise VocabularyError(f"imaging/data/{name}: expected a JSON object")
    allowed = ", ".join(sorted(schema))
    body = {k: v for k, v in data.items() if not k.startswith("_")}
    unknown = sorted(set(body) - set(schema))
    if unknown:
        raise VocabularyError(
            f"imaging/data/{name}: unknown key(s) {', '.join(unknown)}; allowed: {allowed}"
        )
    missing = sorted(set(schema) - set(body))
    if missing:
        raise VocabularyError(f"imaging/data/{name}: missing key(s) {', '.join(missing)}")
    for key, kind in schema.items():
        value = body[key]
        # bool is an int subclass; a rule threshold of `true` is a typo, not a number.
        if isinstance(value, bool) and kind is not bool:
            raise VocabularyError(f"imaging/data/{name}: {key!r} must not be a boolean")
        if not isinstance(value, kind):
            raise VocabularyError(
                f"imaging/data/{name}: {key!r} has type {type(value).__name__}, expected {_type_name(kind)}"
            )
    return body


def _type_name(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return kind.__name__
