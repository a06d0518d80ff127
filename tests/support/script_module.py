"""Loads a file of the repository (a script under scripts/, a task module) as a module, for tests of its functions."""

import importlib.util
import pathlib
import types

from tests.support import REPO_ROOT


def load_module(relative_path: str | pathlib.Path, name: str) -> types.ModuleType:
    """Executes `REPO_ROOT / relative_path` afresh as a module called `name` (not added to sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / relative_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
