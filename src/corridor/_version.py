"""The installed corridor's version, read once from the package metadata (``pyproject.toml``).

Modules that record the version (``run.json``, ensemble manifests, benchmarks) import it from
here, not from the package root, so that no module imports the package it belongs to.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("corridor")
except PackageNotFoundError:  # a source tree on sys.path without an installation
    __version__ = "0+unknown"

__all__ = ["__version__"]
