"""The one registry: versioned names, lazy references, entry points, clear errors."""

from __future__ import annotations

import sys
import types
from importlib import metadata

import pytest

from radpilot import registry
from radpilot.errors import RegistryError
from radpilot.registry import Registry, split_version


def test_versioned_names_resolve_to_the_highest_version() -> None:
    reg: Registry[int] = Registry("things")
    reg.register("alpha.v1", 1)
    reg.register("alpha.v2", 2)
    reg.register("beta.v1", 10)
    assert reg.get("alpha") == 2
    assert reg.get("alpha.v1") == 1
    assert reg.resolve("beta") == "beta.v1"
    assert reg.names() == ["alpha.v1", "alpha.v2", "beta.v1"]
    assert "alpha" in reg and "gamma" not in reg


def test_an_unknown_name_lists_the_valid_ones() -> None:
    reg: Registry[int] = Registry("things", what="thing")
    reg.register("alpha.v1", 1)
    with pytest.raises(RegistryError, match=r"no thing named 'gamma'; valid: alpha\.v1"):
        reg.get("gamma")


@pytest.mark.parametrize("bad", ["alpha", "Alpha.v1", "alpha.v", "alpha v1", "", ".v1"])
def test_a_name_must_be_lower_case_and_versioned(bad: str) -> None:
    with pytest.raises(RegistryError, match="must be lower case and end in a version"):
        Registry("things").register(bad, 1)


def test_registering_a_different_object_twice_is_an_error() -> None:
    reg: Registry[int] = Registry("things")
    reg.register("alpha.v1", 1)
    reg.register("alpha.v1", 1)  # the same object again is harmless (a re-import)
    with pytest.raises(RegistryError, match="registered twice"):
        reg.register("alpha.v1", 2)


def test_decorator_form_returns_the_function() -> None:
    reg: Registry[object] = Registry("things")

    @reg.register("fn.v1")
    def fn() -> str:
        return "ok"

    assert reg.get("fn") is fn and fn() == "ok"


def test_lazy_references_import_only_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("radpilot_test_lazy_mod")
    module.VALUE = 42  # type: ignore[attr-defined]
    reg: Registry[int] = Registry("things")
    reg.register_lazy("lazy.v1", "radpilot_test_lazy_mod:VALUE")
    assert "radpilot_test_lazy_mod" not in sys.modules
    monkeypatch.setitem(sys.modules, "radpilot_test_lazy_mod", module)
    assert reg.get("lazy") == 42


def test_a_broken_lazy_reference_names_it() -> None:
    reg: Registry[int] = Registry("things", what="thing")
    reg.register_lazy("gone.v1", "radpilot_no_such_module:thing")
    with pytest.raises(RegistryError, match=r"thing 'gone\.v1' cannot be loaded from"):
        reg.get("gone")
    with pytest.raises(RegistryError, match="not 'module:attribute'"):
        reg.register_lazy("odd.v1", "no colon here")


def test_entry_points_register_third_party_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = metadata.EntryPoint("plugin.v3", "json:dumps", "radpilot.things")
    seen: list[str] = []

    def fake_entry_points(*, group: str) -> list[metadata.EntryPoint]:
        seen.append(group)
        return [ep] if group == "radpilot.things" else []

    monkeypatch.setattr(registry.metadata, "entry_points", fake_entry_points)
    reg: Registry[object] = Registry("things")
    reg.register("builtin.v1", 1)
    import json

    assert reg.get("plugin") is json.dumps
    assert reg.names() == ["builtin.v1", "plugin.v3"]
    assert seen == ["radpilot.things"]  # read once, only when a name was not built in


def test_split_version() -> None:
    assert split_version("sqlite.v1") == ("sqlite", 1)
    assert split_version("embedded-cnn.v12") == ("embedded-cnn", 12)


def test_every_builtin_reference_loads() -> None:
    """A typo in a built-in reference fails here, not in front of a user."""
    for namespace, reg in registry.namespaces().items():
        for name in reg.names():
            assert reg.get(name) is not None, f"{namespace}: {name}"
