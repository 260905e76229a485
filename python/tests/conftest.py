"""Shared helpers: optional test dependencies are required under CI=true (no skips there)."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def need(module: str) -> ModuleType:
    """Imports `module`, or skips the test; under CI=true a missing module fails it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{module} is not installed (CI=true: tests may not skip)")
        pytest.skip(f"{module} is not installed")
