"""One registry for every swappable part, in the manner of spaCy's ``catalogue``.

Each namespace (``label_sets``, ``uncertainty_policies``, ``archive_backends``,
``image_models``, ``image_runtimes``, ``demo_steps``, ``commands``, ``llm_backends``, ...)
maps versioned names (``"sqlite.v1"``) to objects. A built-in registers itself in the module
that defines it; a heavy one registers lazily as ``"module:attribute"``, imported on first
use. Third-party packages register through the entry-point group ``radpilot.<namespace>``
(``[project.entry-points."radpilot.archive_backends"] "postgres.v1" = "pkg.mod:open"``).

A name is ``base.vN``. Asking for ``base`` alone gets its highest version, so a user types
``--uncertainty radpilot`` and code pins ``"radpilot.v1"``. An unknown name lists the
valid ones.

>>> from radpilot.registry import Registry
>>> colours = Registry("colours")
>>> @colours.register("red.v1")
... def red() -> str:
...     return "#f00"
>>> colours.get("red")()
'#f00'
>>> colours.get("blue")
Traceback (most recent call last):
...
radpilot.errors.RegistryError: no colours named 'blue'; valid: red.v1
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any, Generic, TypeVar, overload

from radpilot.errors import RegistryError

T = TypeVar("T")
F = TypeVar("F")

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*\.v(\d+)$")
_LAZY_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def split_version(name: str) -> tuple[str, int]:
    """``"sqlite.v1"`` -> ``("sqlite", 1)``; a name without a version is an error."""
    m = NAME_RE.match(name)
    if m is None:
        raise RegistryError(
            f"registry name {name!r} must be lower case and end in a version, e.g. 'name.v1'"
        )
    return name[: m.start(2) - 2], int(m.group(2))


def resolve_reference(ref: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Versioned names -> objects, for one kind of swappable part."""

    def __init__(self, namespace: str, *, what: str | None = None) -> None:
        self.namespace = namespace
        self.what = what or namespace.replace("_", " ")
        self._items: dict[str, T] = {}
        self._lazy: dict[str, str] = {}
        self._entry_points_read = False
        self._lock = threading.Lock()

    @property
    def entry_point_group(self) -> str:
        return f"radpilot.{self.namespace}"

    @overload
    def register(self, name: str) -> Callable[[F], F]: ...

    @overload
    def register(self, name: str, obj: T) -> T: ...

    def register(self, name: str, obj: Any = None) -> Any:
        """Register ``obj`` under ``name``; without ``obj``, a decorator."""
        split_version(name)
        if obj is None:

            def decorator(fn: F) -> F:
                self._add(name, fn)
                return fn

            return decorator
        self._add(name, obj)
        return obj

    def register_lazy(self, name: str, reference: str) -> None:
        """Register ``"module:attribute"``, imported only when ``name`` is first asked for."""
        split_version(name)
        if not _LAZY_RE.match(reference):
            raise RegistryError(f"{self.namespace}: {reference!r} is not 'module:attribute'")
        with self._lock:
            if name in self._items or self._lazy.get(name, reference) != reference:
                raise RegistryError(f"{self.namespace}: {name!r} is registered twice")
            self._lazy[name] = reference

    def _add(self, name: str, obj: Any) -> None:
        with self._lock:
            current = self._items.get(name)
            if current is not None and current is not obj:
                raise RegistryError(f"{self.namespace}: {name!r} is registered twice")
            self._items[name] = obj
            self._lazy.pop(name, None)

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        for ep in metadata.entry_points(group=self.entry_point_group):
            if ep.name not in self._items and ep.name not in self._lazy:
                try:
                    split_version(ep.name)
                except RegistryError as exc:
                    raise RegistryError(f"entry point {ep.value!r}: {exc}") from None
                self._lazy[ep.name] = ep.value

    def names(self) -> list[str]:
        """Every registered name (built-ins and entry points), sorted."""
        self._read_entry_points()
        return sorted({*self._items, *self._lazy})

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._full_name(name, fail=False) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def _full_name(self, name: str, *, fail: bool = True) -> str | None:
        for attempt in range(2):
            known = {*self._items, *self._lazy}
            if name in known:
                return name
            versions = [n for n in known if NAME_RE.match(n) and split_version(n)[0] == name]
            if versions:
                return max(versions, key=lambda n: split_version(n)[1])
            if attempt == 0:
                self._read_entry_points()
        if fail:
            valid = ", ".join(self.names()) or "none registered"
            raise RegistryError(f"no {self.what} named {name!r}; valid: {valid}")
        return None

    def resolve(self, name: str) -> str:
        """The full versioned name ``name`` stands for (``"sqlite"`` -> ``"sqlite.v1"``)."""
        full = self._full_name(name)
        assert full is not None
        return full

    def get(self, name: str) -> T:
        """The object registered as ``name`` (or its highest version when unversioned)."""
        full = self.resolve(name)
        with self._lock:
            if full in self._items:
                return self._items[full]
            reference = self._lazy[full]
        try:
            obj = resolve_reference(reference)
        except (ImportError, AttributeError) as exc:
            raise RegistryError(
                f"{self.what} {full!r} cannot be loaded from {reference!r}: {exc}"
            ) from None
        self._add(full, obj)
        return obj  # type: ignore[no-any-return]


# -- the namespaces ----------------------------------------------------------------------
# Built-ins are listed here as "module:attribute" references, so that this one file shows
# every swappable part, nothing heavy is imported before it is used, and the layers below
# never import the layers above. Entry points add to these.

_BUILTINS: dict[str, tuple[str, dict[str, str]]] = {
    "commands": (
        "command",
        {
            "label.v1": "radpilot.commands.label:app",
            "archive.v1": "radpilot.commands.archive:app",
            "search.v1": "radpilot.commands.search:app",
            "evaluate.v1": "radpilot.commands.evaluate:app",
            "analyze.v1": "radpilot.commands.analyze:app",
            "compare.v1": "radpilot.commands.compare:app",
            "models.v1": "radpilot.commands.models:app",
            "demo.v1": "radpilot.commands.demo:app",
            "followups.v1": "radpilot.commands.followups:app",
            "draft.v1": "radpilot.commands.draft:app",
            "ask.v1": "radpilot.commands.ask:app",
            "worklist.v1": "radpilot.commands.worklist:app",
            "timeline.v1": "radpilot.commands.timeline:app",
            "qa.v1": "radpilot.commands.qa:app",
            "dicom.v1": "radpilot.commands.dicom:app",
            "export.v1": "radpilot.commands.export:app",
            "deidentify.v1": "radpilot.commands.deidentify:app",
            "datasets.v1": "radpilot.commands.datasets:app",
            "serve.v1": "radpilot.commands.serve:app",
            "users.v1": "radpilot.commands.users:app",
            "audit.v1": "radpilot.commands.audit:app",
        },
    ),
    "demo_steps": (
        "demo step",
        {
            "reports.v1": "radpilot.commands.demos.reports:run",
            "evaluate.v1": "radpilot.commands.demos.evaluate:run",
            "search.v1": "radpilot.commands.demos.search:run",
            "imaging.v1": "radpilot.commands.demos.imaging:run",
            "workflow.v1": "radpilot.commands.demos.workflow:run",
        },
    ),
    "label_sets": (
        "label set",
        {
            "chexpert.v1": "radpilot.reports.labelsets:CHEXPERT",
            "chestxray14.v1": "radpilot.reports.labelsets:CHESTXRAY14",
        },
    ),
    "uncertainty_policies": (
        "uncertainty policy",
        {
            "radpilot.v1": "radpilot.reports.policy:RADPILOT",
            "chexpert.v1": "radpilot.reports.policy:CHEXPERT",
        },
    ),
    "archive_backends": (
        "archive backend",
        {
            "sqlite.v1": "radpilot.search.sqlite_store:open_sqlite",
            "postgres.v1": "radpilot.search.pg_store:open_postgres",
        },
    ),
    "image_backends": (
        "image model backend",
        {
            # (card, weights path) -> a loaded model; model cards name these.
            "embedded-cnn.v1": "radpilot.imaging.embedded:load",
            "xrv-densenet.v1": "radpilot.imaging.xrv_backend:load_densenet",
            "xrv-resnet.v1": "radpilot.imaging.xrv_backend:load_resnet",
            "xrv-pspnet.v1": "radpilot.imaging.segmentation:load",
        },
    ),
    "image_runtimes": (
        "image runtime",
        {
            # a loaded torch classifier -> the model that serves predictions
            "torch.v1": "radpilot.imaging.torch_model:as_torch",
            "onnx.v1": "radpilot.imaging.onnx_backend:from_torch",
        },
    ),
    "llm_backends": (
        "language-model backend",
        {
            # (LLMConfig, name=...) -> an opened radpilot.workflow.llm.ChatModel
            "openai-compatible.v1": "radpilot.workflow.llm_http:open_openai",
            "llama-cpp.v1": "radpilot.workflow.llm_local:open_llama",
        },
    ),
    "dataset_strategies": (
        "dataset ordering strategy",
        {
            # items -> the order an annotator sees them (radpilot.datasets.active)
            "uncertainty.v1": "radpilot.datasets.active:by_uncertainty",
            "random.v1": "radpilot.datasets.active:shuffled",
            "order.v1": "radpilot.datasets.active:in_order",
        },
    ),
    "service_backends": (
        "service backend",
        {
            # (location) -> a radpilot.server.models.ServiceStore: users, tokens, audit
            "sqlite.v1": "radpilot.server.sqlite_service:open_sqlite_service",
            "postgres.v1": "radpilot.server.pg_service:open_postgres_service",
        },
    ),
    "study_backends": (
        "studies store backend",
        {
            # (location, readonly=, create=) -> a radpilot.workflow.studies.StudyStore
            "sqlite.v1": "radpilot.workflow.studies:SQLiteStudyStore",
            "postgres.v1": "radpilot.workflow.pg_studies:PostgresStudyStore",
        },
    ),
    # Extra routers of `radpilot serve` (an APIRouter each): the workflow routes (draft,
    # QA, follow-ups, worklist) are wired here when their branches land.
    "server_routers": (
        "server router",
        {
            "datasets.v1": "radpilot.server.routes_datasets:router",
            "workflow.v1": "radpilot.server.routes_workflow:router",
            "pages.v1": "radpilot.server.routes_pages:router",
            "pages_api.v1": "radpilot.server.routes_pages_api:router",
        },
    ),
    "data_files": (
        "packaged data file",
        {
            "reports.label_names.v1": "radpilot.reports.labelnames:LABEL_NAMES",
            "evaluate.datasets.v1": "radpilot.evaluate.datasets:DATASETS",
            "reports.explanations.v1": "radpilot.reports.policy:EXPLANATIONS",
            "reports.findings.v1": "radpilot.reports.vocabulary:FINDINGS",
            "reports.cues.v1": "radpilot.reports.rules:CUES",
            "reports.modifiers.v1": "radpilot.reports.rules:MODIFIERS",
            "reports.sections.v1": "radpilot.reports.rules:SECTIONS",
            "interop.hl7_charsets.v1": "radpilot.interop.hl7:CHARSETS",
            "search.query_words.v1": "radpilot.search.config:QUERY_WORDS",
            "search.ranking.v1": "radpilot.search.config:RANKING",
            "imaging.acquisition.v1": "radpilot.imaging.rules:ACQUISITION",
            "imaging.change.v1": "radpilot.imaging.rules:CHANGE",
            "imaging.urgency.v1": "radpilot.imaging.rules:URGENCY",
            "imaging.quality.v1": "radpilot.imaging.rules:QUALITY",
            "imaging.model_cards.v1": "radpilot.imaging.model_card:CARDS",
            "interop.sr_codes.v1": "radpilot.interop.dicom_codes:SR_CODES",
            "reports.clinical_cues.v1": "radpilot.reports.clinicalcues:CLINICAL_CUES",
            "workflow.followup_cues.v1": "radpilot.workflow.followup_rules:FOLLOWUP_CUES",
            "workflow.fleischner_2017.v1": "radpilot.workflow.fleischner:FLEISCHNER",
            "workflow.qa_rules.v1": "radpilot.workflow.qarules:QA_RULES",
            "workflow.exam_regions.v1": "radpilot.workflow.qaexam:EXAM_REGIONS",
            "workflow.drafting.v1": "radpilot.workflow.rules:DRAFTING",
            "workflow.prompts.v1": "radpilot.workflow.rules:PROMPTS",
            "workflow.worklist.v1": "radpilot.workflow.worklist:WORKLIST",
            "interop.export_codes.v1": "radpilot.interop.export_codes:EXPORT_CODES",
            "interop.deid_dicom.v1": "radpilot.interop.deid:DEID_DICOM",
            "interop.deid_text.v1": "radpilot.interop.deid_text:DEID_TEXT",
            "server.access.v1": "radpilot.server.access:ACCESS",
        },
    ),
}


def _namespace(namespace: str) -> Registry[Any]:
    what, builtins = _BUILTINS[namespace]
    reg: Registry[Any] = Registry(namespace, what=what)
    for name, reference in builtins.items():
        reg.register_lazy(name, reference)
    return reg


commands = _namespace("commands")
demo_steps = _namespace("demo_steps")
label_sets = _namespace("label_sets")
uncertainty_policies = _namespace("uncertainty_policies")
archive_backends = _namespace("archive_backends")
image_backends = _namespace("image_backends")
image_runtimes = _namespace("image_runtimes")
llm_backends = _namespace("llm_backends")
dataset_strategies = _namespace("dataset_strategies")
data_files = _namespace("data_files")
service_backends = _namespace("service_backends")
study_backends = _namespace("study_backends")
server_routers = _namespace("server_routers")


def namespaces() -> dict[str, Registry[Any]]:
    """Every namespace by name (for ``radpilot --registry``-style listings and tests)."""
    return {
        r.namespace: r
        for r in (
            commands,
            demo_steps,
            label_sets,
            uncertainty_policies,
            archive_backends,
            image_backends,
            image_runtimes,
            llm_backends,
            dataset_strategies,
            data_files,
            service_backends,
            study_backends,
            server_routers,
        )
    }
