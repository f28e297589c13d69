"""Registration by existing: every module of a package that defines one named object (a model family's
FAMILY, a descriptor set's SET) is an entry, as scikit-learn's all_estimators finds its estimators."""

from __future__ import annotations

import importlib
import pkgutil


def discover(package, attr: str, kind: type, where: str) -> dict:
    """{name: entry} of every module of `package` (its `_`-modules aside) defining `attr`, an instance of
    `kind`; each entry is passed to `kind`'s `name`. where: the package's folder, for the one-line errors."""
    found = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        entry = getattr(importlib.import_module(f"{package.__name__}.{info.name}"), attr, None)
        if not isinstance(entry, kind):
            raise RuntimeError(f"{where}/{info.name}.py defines no {attr}")
        if entry.name in found:
            raise RuntimeError(f"two entries of {where} are called {entry.name!r}")
        found[entry.name] = (entry, info.name)
    return found
