"""Fixtures of the python tool's tests."""

import pytest

from open_r1.sandbox.factory import clear_providers
from open_r1.tools import PythonTool, PythonToolSettings, ToolStats
from tests.support.sandbox_checks import skip_without_isolation


@pytest.fixture(scope="module")
def make_tool(request):
    """New rollouts' tools on one shared provider, as in training, under the test module's `SETTINGS` unless given
    others; `make_tool.stats` counts their calls (the start-up call aside). The provider is closed after the module."""
    stats = ToolStats()
    module_settings = request.module.SETTINGS

    def make(settings: PythonToolSettings = module_settings) -> PythonTool:
        with skip_without_isolation():
            PythonTool(settings).python("pass")  # starts the worker, or reports that this machine cannot isolate
        tool = PythonTool(settings, stats)
        tool.reset()
        return tool

    make.stats = stats
    yield make
    clear_providers()
