"""Which processor a file goes to: a Python module, a Jupyter notebook or a dependency file.

Each kind has a byte-level prefilter (most files of a repository stop there) and a processor that
returns the same FileResult the Python engine does, so every report, the cache and `fix` treat all
kinds alike.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from migrate.catalog import Catalog
from migrate.codemod.findings import FileResult
from migrate.settings import Settings

PYTHON, NOTEBOOK, DEPENDENCIES = "python", "notebook", "dependencies"

DEPENDENCY_FILES = ("requirements*.txt", "requirements*.in", "pyproject.toml", "setup.cfg")

# A setup.py that imports setuptools or distutils is a packaging script: its install_requires
# literals are what matters in it. Any other file of that name (sample apps have a `setup.py` page
# module) is ordinary Python and gets the SDK port.
_PACKAGING_SCRIPT = re.compile(rb"^[ \t]*(?:from|import)[ \t]+(?:setuptools|distutils)\b", re.MULTILINE)


def kind_of(path: Path, data: bytes | None = None) -> str:
    """The file's kind; `data` decides for setup.py (without it, setup.py counts as packaging)."""
    name = path.name
    if name.endswith(".ipynb"):
        return NOTEBOOK
    if any(fnmatch.fnmatch(name, pattern) for pattern in DEPENDENCY_FILES) or _in_requirements_folder(path):
        return DEPENDENCIES
    if name == "setup.py" and (data is None or _PACKAGING_SCRIPT.search(data)):
        return DEPENDENCIES
    return PYTHON


def _in_requirements_folder(path: Path) -> bool:
    return path.parent.name == "requirements" and path.suffix in (".txt", ".in")


# A notebook's outputs (images, tables) are JSON that is read, never parsed as Python: its code
# cells are what the limit is about. The whole file may still be this many times the limit.
NOTEBOOK_FILE_FACTOR = 32


def size_problem(path: Path, data: bytes, limit: int) -> str | None:
    """Why the file is too large to process (None when it is not): code over `limit` bytes."""
    if kind_of(path, data) != NOTEBOOK:
        return _too_large(len(data), limit, "for one file") if len(data) > limit else None
    if len(data) > NOTEBOOK_FILE_FACTOR * limit:
        return _too_large(len(data), NOTEBOOK_FILE_FACTOR * limit, f"for a notebook file ({NOTEBOOK_FILE_FACTOR}x the code limit)")
    from migrate.codemod import notebooks

    try:
        code = notebooks.code_size(data)
    except notebooks.NotANotebook:
        return None  # the notebook processor says what is wrong with it
    return _too_large(code, limit, "for the code cells of one notebook") if code > limit else None


def _too_large(size: int, limit: int, what: str) -> str:
    return (f"too large: {shown_size(size)} is over the {shown_size(limit)} limit {what} "
            "(generated code? raise it with --max-file-size or max-file-size in pyproject.toml)")  # fmt: skip


def shown_size(n: int) -> str:
    return f"{n / 1_048_576:.1f} MiB" if n >= 1_048_576 else f"{n / 1024:.0f} KiB"


def is_candidate(path: Path, data: bytes, catalog: Catalog) -> bool:
    from migrate.codemod.engine import is_candidate as python_candidate

    kind = kind_of(path, data)
    if kind == DEPENDENCIES:
        from migrate.codemod import dependencies

        return dependencies.is_candidate(data)
    return python_candidate(data, catalog)


def migrate_file(path: Path, data: bytes, settings: Settings) -> FileResult:
    """The result for one file's bytes, whatever its kind. Never raises for bad input."""
    from migrate.codemod.engine import migrate_source

    settings = settings.for_path(path)
    kind = kind_of(path, data)
    if kind == NOTEBOOK:
        from migrate.codemod import notebooks

        return notebooks.migrate_notebook(data, settings, path)
    if kind == DEPENDENCIES:
        from migrate.codemod import dependencies

        return dependencies.migrate_dependency_file(data, settings, path)
    return migrate_source(data, settings, path=path)
