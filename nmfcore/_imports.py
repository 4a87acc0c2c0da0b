"""scipy's submodules imported on first use.

``import nmfcore`` (and with it the data layer, ``nmfcore.datasets``) would otherwise load
``scipy.special`` and ``scipy.sparse`` (~0.2 s together) in every process, also in those that never
evaluate a likelihood or build a sparse matrix: the workflow's data jobs, ``--help``. :func:`lazy` is
the standard library's recipe (:class:`importlib.util.LazyLoader`): the module object exists at once and
runs its code on the first attribute access. :func:`load_deferred_imports` runs them now
(:func:`nmfcore.fit_many` calls it before its clock starts, so that no fit's measured time includes an
import).
"""
from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

__all__ = ["lazy", "load_deferred_imports"]

_LAZY: list[ModuleType] = []


def lazy(name: str) -> ModuleType:
    """The module ``name``, its code run on first use (at once if it is already imported)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    _LAZY.append(module)
    return module


def load_deferred_imports() -> None:
    """Run the code of every module :func:`lazy` has deferred so far (any attribute access runs it)."""
    for module in _LAZY:
        module.__doc__  # noqa: B018
