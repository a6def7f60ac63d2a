"""The reader's dataclasses that write their own ``__init__`` (``init=False``, see
``reports/models.py``): each must take exactly its fields, in order, with their defaults,
and store each one as given, or a field added later would be silently left unset."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from radpilot.reports import native, read
from radpilot.reports.models import Mention, Report, Section, Sentence, Span

HERE = Path(native.__file__).resolve().parent


def _own_init_classes() -> list[tuple[str, ast.ClassDef]]:
    out = []
    for name in native.COMPILED:
        tree = ast.parse((HERE / f"{name}.py").read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and any(
                isinstance(d, ast.Call)
                and any(k.arg == "init" and ast.literal_eval(k.value) is False for k in d.keywords)
                for d in node.decorator_list
            ):
                out.append((f"{name}.{node.name}", node))
    return out


CLASSES = _own_init_classes()


def _fields(cls: ast.ClassDef) -> list[tuple[str, str | None]]:
    """Each field and its default as the ``__init__`` must write it (a default factory is
    taken as ``None``, replaced inside)."""
    out = []
    for st in cls.body:
        if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name):
            default = st.value
            if isinstance(default, ast.Call) and getattr(default.func, "id", "") == "field":
                kw = {k.arg: k.value for k in default.keywords}
                default = ast.Constant(None) if "default_factory" in kw else kw.get("default")
            out.append((st.target.id, ast.unparse(default) if default is not None else None))
    return out


def _init(cls: ast.ClassDef) -> ast.FunctionDef:
    inits = [f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"]
    assert len(inits) == 1, f"{cls.name} has init=False and no __init__ of its own"
    return inits[0]


def _stored(init: ast.FunctionDef) -> list[str]:
    """The fields the body stores, in order: ``object.__setattr__(self, "f", ...)`` or
    ``self.f = ...``."""
    out = []
    for st in init.body:
        if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call):
            args = st.value.args
            if ast.unparse(st.value.func) == "object.__setattr__" and len(args) == 3:
                out.append(ast.literal_eval(args[1]))
        elif isinstance(st, ast.Assign) and ast.unparse(st.targets[0]).startswith("self."):
            out.append(ast.unparse(st.targets[0]).removeprefix("self."))
    return out


def test_the_hot_classes_write_their_own_init() -> None:
    names = {n for n, _ in CLASSES}
    assert {"models.Mention", "models.Span", "models.Sentence", "scope.Draft"} <= names


@pytest.mark.parametrize("cls", [c for _, c in CLASSES], ids=[n for n, _ in CLASSES])
def test_init_takes_every_field_in_order_with_its_default(cls: ast.ClassDef) -> None:
    init = _init(cls)
    args = init.args.args[1:]
    defaults = [None] * (len(args) - len(init.args.defaults)) + list(init.args.defaults)
    taken = [
        (a.arg, ast.unparse(d) if d is not None else None)
        for a, d in zip(args, defaults, strict=True)
    ]
    assert taken == _fields(cls)
    assert not init.args.kwonlyargs and init.args.vararg is None and init.args.kwarg is None


@pytest.mark.parametrize("cls", [c for _, c in CLASSES], ids=[n for n, _ in CLASSES])
def test_init_stores_every_field_once(cls: ast.ClassDef) -> None:
    assert _stored(_init(cls)) == [name for name, _ in _fields(cls)]


def test_objects_keep_what_they_were_given_and_stay_frozen() -> None:
    report = read("FINDINGS: Small right pleural effusion, 2 cm. No pneumothorax.")
    assert isinstance(report, Report) and report.mentions
    for obj in (report, *report.sections, *report.sentences, *report.mentions):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        assert dataclasses.replace(obj) == obj
        assert type(obj)(**fields) == obj
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, next(iter(fields)), None)
    effusion = next(m for m in report.mentions if m.finding == "pleural_effusion")
    assert effusion.span == Span(effusion.span.start, effusion.span.end, effusion.span.text)
    assert (effusion.laterality, effusion.size is not None) == ("right", True)
    assert isinstance(report.sections[0], Section) and isinstance(report.sentences[0], Sentence)
    assert isinstance(effusion, Mention)
