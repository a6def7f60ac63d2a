"""One strict loader for every data file: packaged vocabularies, cues, rules, templates,
prompts, and the files users hand to radpilot (``--vocab FILE``).

A file is described by a pydantic model that forbids unknown keys (:class:`DataModel`);
a packaged file by a :class:`DataFile` spec, loaded lazily through ``importlib.resources``
and cached. An error is one line naming the file, the key path and, for an unknown key,
the allowed keys. Each packaged file has its JSON Schema published beside it
(``findings.json`` -> ``findings.schema.json``) so editors validate as they type;
``python -m radpilot.datafiles`` rewrites them and a test fails when one is stale.

>>> from radpilot.datafiles import DataModel, parse
>>> class Rule(DataModel):
...     phrase: str
...     weight: float = 1.0
>>> parse({"phrase": "no", "wieght": 2}, Rule, "rules.json")
Traceback (most recent call last):
...
radpilot.errors.VocabularyError: rules.json: wieght: unknown key; allowed: phrase, weight
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from radpilot.errors import VocabularyError

M = TypeVar("M", bound=BaseModel)

MAX_ERRORS_SHOWN = 3


class DataModel(BaseModel):
    """Base of every data-file model: unknown keys are errors, objects are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DataDocument(DataModel):
    """Base of a whole file: it may name its schema (for editors) and describe itself."""

    schema_ref: str | None = Field(None, alias="$schema")
    description: str | None = None


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice in one object")
        out[key] = value
    return out


def parse_text(text: str, where: str, *, yaml: bool = False) -> Any:
    """JSON (or YAML) text -> Python objects; a duplicate key is an error, not a silent
    overwrite."""
    if yaml:
        try:
            import yaml as pyyaml
        except ImportError:
            raise VocabularyError(
                f"{where}: reading YAML needs PyYAML (pip install pyyaml)"
            ) from None
        try:
            return pyyaml.load(text, Loader=_strict_yaml_loader())  # a SafeLoader subclass
        except pyyaml.YAMLError as exc:
            raise VocabularyError(f"{where}: not valid YAML ({_one_line(str(exc))})") from None
        except (ValueError, TypeError, RecursionError) as exc:
            # a duplicate key, an impossible date ("2024-13-01"), nesting past the stack
            raise VocabularyError(
                f"{where}: {_one_line(str(exc)) or 'nested too deeply'}"
            ) from None
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates)
    except json.JSONDecodeError as exc:
        raise VocabularyError(f"{where}: not valid JSON ({exc})") from None
    except (ValueError, RecursionError) as exc:
        raise VocabularyError(f"{where}: {_one_line(str(exc)) or 'nested too deeply'}") from None


@cache
def _strict_yaml_loader() -> Any:
    """PyYAML's SafeLoader, except that a key given twice in one mapping is an error (as
    in JSON input) instead of the last one silently winning."""
    import yaml as pyyaml

    merge_tag = "tag:yaml.org,2002:merge"

    def check_keys(loader: Any, node: Any) -> None:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, pyyaml.ScalarNode) or key_node.tag == merge_tag:
                continue  # "<<" merges may be overridden by the mapping's own keys
            key = loader.construct_object(key_node)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise ValueError(f"key {key!r} appears twice in one object (line {line})")
            seen.add(key)

    def construct_map(loader: Any, node: Any) -> Any:
        check_keys(loader, node)
        data: dict[Any, Any] = {}
        yield data  # the two-step form of SafeLoader's, so anchors may refer back
        data.update(loader.construct_mapping(node))

    class StrictLoader(pyyaml.SafeLoader):
        pass

    StrictLoader.add_constructor("tag:yaml.org,2002:map", construct_map)
    return StrictLoader


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (``list[X] | None`` -> ``[X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin is None and not isinstance(annotation, types.UnionType):
        return []
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _keys_of(model: type[BaseModel]) -> list[str]:
    return sorted(f.alias or name for name, f in model.model_fields.items())


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model that holds the last key of ``loc`` (for listing its allowed keys)."""
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        if current is None:
            return None
        if isinstance(part, int):
            continue
        field = next(
            (f for name, f in current.model_fields.items() if part in (name, f.alias)), None
        )
        if field is None:
            # A dict value keyed by user data ("laterality": {"left": [...]}): stay put.
            continue
        candidates = _models_in(field.annotation)
        current = candidates[0] if candidates else None
    return current


_PLAIN_KEY = re.compile(r"^[\w$-]{1,60}$")


def _location(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "union[", "list[", "dict[")) or part == "[key]":
            continue  # pydantic's names for validator steps (and for "the key itself"), not keys
        elif _PLAIN_KEY.fullmatch(part):  # (match: "$" also matches before a final "\n")
            out += f".{part}" if out else part
        else:  # a key with spaces, line breaks or odd characters: quoted, shortened
            out += f"[{part[:60]!r}]"
    return out


_YAML_BOOLEAN = (
    "got a boolean: YAML reads an unquoted yes, no, on or off as true or false; quote the word"
)


def format_error(exc: ValidationError, model: type[BaseModel], where: str) -> str:
    """One line for a validation failure: file, key path, what is wrong, allowed keys."""
    parts: list[str] = []
    errors = exc.errors(include_url=False)
    for err in errors[:MAX_ERRORS_SHOWN]:
        loc = tuple(err["loc"])
        path = _location(loc)
        if err["type"] == "extra_forbidden":
            holder = _model_at(model, loc)
            allowed = f"; allowed: {', '.join(_keys_of(holder))}" if holder else ""
            parts.append(f"{path}: unknown key{allowed}")
        elif err["type"] == "missing":
            parts.append(f"{path}: missing key")
        else:
            msg = _one_line(str(err["msg"])).removeprefix("Value error, ")
            if err["type"] == "string_type" and isinstance(err.get("input"), bool):
                yaml = re.search(r"\.ya?ml\b", where) is not None
                msg += f" ({_YAML_BOOLEAN})" if yaml else " (got a boolean)"
            parts.append(f"{path}: {msg}" if path else msg)
    more = len(errors) - MAX_ERRORS_SHOWN
    tail = f" (and {more} more)" if more > 0 else ""
    return f"{where}: " + "; ".join(parts) + tail


def parse(raw: Any, model: type[M], where: str) -> M:
    """Validate parsed data against ``model``; errors name ``where`` and the key path."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise VocabularyError(format_error(exc, model, where)) from None
    except RecursionError:
        raise VocabularyError(f"{where}: nested too deeply") from None


def load_path(path: Path | str, model: type[M]) -> M:
    """A user's data file (JSON, or YAML by its ``.yaml`` / ``.yml`` suffix)."""
    return parse(read_path(path), model, str(path))


def read_path(path: Path | str) -> Any:
    """A user's data file parsed but not validated (for loaders that validate entry by
    entry, to name each bad one); the same errors as :func:`load_path`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VocabularyError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise VocabularyError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise VocabularyError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return parse_text(text, str(path), yaml=path.suffix.lower() in (".yaml", ".yml"))


@dataclass(frozen=True)
class DataFile(Generic[M]):
    """A data file shipped inside a package: ``DataFile("radpilot.reports", "data/cues.json",
    CueFile)``. ``load()`` parses and validates it once."""

    package: str
    path: str
    model: type[M]

    @property
    def where(self) -> str:
        return f"{self.package.replace('.', '/')}/{self.path}"

    def text(self) -> str:
        try:
            return resources.files(self.package).joinpath(self.path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise VocabularyError(f"{self.where}: packaged data file is missing") from None

    def raw(self) -> Any:
        """The parsed, unvalidated content (tests edit a copy to check the loader)."""
        return parse_text(self.text(), self.where)

    def load(self) -> M:
        return _load_cached(self)

    @property
    def schema_file(self) -> str:
        stem, _, _ = self.path.rpartition(".")
        return f"{stem}.schema.json"

    def schema(self) -> dict[str, Any]:
        return self.model.model_json_schema(by_alias=True)

    def schema_text(self) -> str:
        return json.dumps(self.schema(), indent=2, sort_keys=True) + "\n"

    def schema_on_disk(self) -> Path:
        return Path(str(resources.files(self.package).joinpath(self.schema_file)))


@cache
def _load_cached(spec: DataFile[Any]) -> Any:
    return parse(spec.raw(), spec.model, spec.where)


def packaged() -> list[DataFile[Any]]:
    """Every packaged data file registered in ``radpilot.registry.data_files``."""
    from radpilot import registry

    return [registry.data_files.get(name) for name in registry.data_files.names()]


def write_schemas() -> list[Path]:
    """Rewrite the JSON Schema beside every packaged data file; returns the paths."""
    written = []
    for spec in packaged():
        target = spec.schema_on_disk()
        target.write_text(spec.schema_text(), encoding="utf-8")
        written.append(target)
    return written


if __name__ == "__main__":
    for p in write_schemas():
        print(p)
