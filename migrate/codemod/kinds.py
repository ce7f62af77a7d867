"""Which processor a file goes to: a Python module, a Jupyter notebook or a dependency file.

Each kind has a byte-level prefilter (most files of a repository stop there) and a processor that
returns the same FileResult the Python engine does, so every report, the cache and `fix` treat all
kinds alike.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from migrate.catalog import Catalog
from migrate.codemod.findings import FileResult
from migrate.settings import Settings

PYTHON, NOTEBOOK, DEPENDENCIES = "python", "notebook", "dependencies"

# setup.py counts as a dependency file: its install_requires literals are what matters in it.
DEPENDENCY_FILES = ("requirements*.txt", "requirements*.in", "pyproject.toml", "setup.cfg", "setup.py")


def kind_of(path: Path) -> str:
    name = path.name
    if name.endswith(".ipynb"):
        return NOTEBOOK
    if any(fnmatch.fnmatch(name, pattern) for pattern in DEPENDENCY_FILES) or _in_requirements_folder(path):
        return DEPENDENCIES
    return PYTHON


def _in_requirements_folder(path: Path) -> bool:
    return path.parent.name == "requirements" and path.suffix in (".txt", ".in")


def is_candidate(path: Path, data: bytes, catalog: Catalog) -> bool:
    from migrate.codemod.engine import is_candidate as python_candidate

    kind = kind_of(path)
    if kind == DEPENDENCIES:
        from migrate.codemod import dependencies

        return dependencies.is_candidate(data)
    return python_candidate(data, catalog)


def migrate_file(path: Path, data: bytes, settings: Settings) -> FileResult:
    """The result for one file's bytes, whatever its kind. Never raises for bad input."""
    from migrate.codemod.engine import migrate_source

    settings = settings.for_path(path)
    kind = kind_of(path)
    if kind == NOTEBOOK:
        from migrate.codemod import notebooks

        return notebooks.migrate_notebook(data, settings, path)
    if kind == DEPENDENCIES:
        from migrate.codemod import dependencies

        return dependencies.migrate_dependency_file(data, settings, path)
    return migrate_source(data, settings, path=path)
