"""The open registry of derivations: every derived column or view of the engine, one module each.

A derivation is a named, documented step that adds columns to a view (a *column derivation*) or builds a view
of its own (a *view derivation*, e.g. one row per resource and provider). Each module in this folder registers
its derivation with :func:`derivation`; the decorated function's docstring is its documentation (shown by
``sharecheck explain``). A derivation declares
- ``view``: the view it adds to, or the view it builds;
- ``adds``: the columns it adds;
- ``reads``: the pack data it reads: code lists (``codelists.yaml``), the legal-basis classifier table
  (``legal_basis.yaml``) and its own parameters (``pack.yaml`` → ``derivations: {name: {param: value}}``);
- ``tables``: other input tables it reads; ``needs``: derivations of the same view whose columns it reads;
  ``uses``: derivations of other views whose columns it reads;
- ``over``, ``partial`` and ``combine`` (a view derivation that aggregates an event table, issue 11):
  ``partial(ctx, **args)`` summarises the rows of ``over`` that ``ctx`` holds (a whole table, or one partition of
  it on a Dask worker); ``combine(parts)`` makes one summary of the same form out of several, exactly (first of
  firsts, sums, maxima), so that the dask engine folds the partitions' summaries as they arrive; the decorated
  function ``fn(ctx, parts, **args)`` builds the view from one or more summaries. The
  pandas engine runs them on the whole table (one part), the dask engine runs ``partial`` per partition: one
  implementation, both engines. Column derivations of an event table must be row-local (each row's value from that
  row and the small tables alone), so that they run per partition unchanged.

A rule file names the derivations it uses (``derivations: [...]``); the pack loader rejects a rule that reads a
derived column without naming its derivation. Adding a module here adds a derivation: no list to edit.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Derivation:
    name: str
    view: str                                   # the view it adds columns to, or the view it builds
    adds: tuple[str, ...]
    fn: Callable
    builds: str | None = None                   # a view derivation: the table whose rows/columns the view starts from
    base_columns: tuple[str, ...] | None = None  # a view derivation keeping only these columns of that table
    uses: tuple[str, ...] = ()                  # derivations of other views whose columns it reads
    needs: tuple[str, ...] = ()
    codelists: tuple[str, ...] = ()
    classifier: bool = False                    # reads the pack's legal-basis classifier table
    params: dict[str, Any] = field(default_factory=dict)   # pack parameters with their defaults
    args: dict[str, Any] = field(default_factory=dict)     # view arguments (rule file view_args) with defaults
    tables: tuple[str, ...] = ()
    over: str | None = None                     # the event table a partial/combine view derivation aggregates
    partial: Callable | None = None             # partial(ctx, **args) -> a summary of ctx's rows of ``over``
    combine: Callable | None = None             # combine([summary, …]) -> one summary of the same form
    module: str = ""

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.fn.__doc__ or "")

    @property
    def summary(self) -> str:
        return self.doc.split("\n\n")[0].replace("\n", "")

    @property
    def is_view(self) -> bool:
        return self.builds is not None


REGISTRY: dict[str, Derivation] = {}


def derivation(name: str, view: str, adds: list[str] | tuple[str, ...], **kw) -> Callable:
    """Register the decorated function as the derivation ``name`` (see the module docstring)."""
    def register(fn: Callable) -> Callable:
        if name in REGISTRY:
            raise RuntimeError(f"derivation {name} registered twice ({REGISTRY[name].module}, {fn.__module__})")
        for k in ("needs", "codelists", "tables", "uses", "base_columns"):
            if kw.get(k) is not None:
                kw[k] = tuple(kw[k])
        if (kw.get("partial") is None) != (kw.get("combine") is None):
            raise RuntimeError(f"derivation {name}: a partial needs its combine, and a combine its partial")
        REGISTRY[name] = Derivation(name=name, view=view, adds=tuple(adds), fn=fn, module=fn.__module__, **kw)
        return fn
    return register


def load_all() -> dict[str, Derivation]:
    """Import every module of this folder (each registers its derivation); modules in name order."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    return REGISTRY


load_all()
