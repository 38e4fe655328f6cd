"""Files shipped inside the package (``corridor/data``): the one way to find them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["package_data"]


def package_data(*parts: str) -> Path:
    """The path of ``corridor/data/<parts...>`` in the installed package (it need not exist)."""
    return Path(str(resources.files("corridor").joinpath("data", *parts)))
