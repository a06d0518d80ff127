"""transformers' compiled decode step on a CPU, for tests: torch.compile's eager backend (dynamo traces and guards the
step, no code generation), with transformers' switch that lets it compile off a GPU."""

from transformers import CompileConfig


def cpu_compile_config(*args) -> CompileConfig:
    """A CompileConfig transformers applies on a CPU (any arguments, such as a device, are ignored)."""
    config = CompileConfig(backend="eager", mode=None)
    config._compile_all_devices = True
    return config


def recorded_static_caches(monkeypatch) -> list:
    """Every StaticCache transformers' generate() builds while the test runs (its monkeypatch undoes the recording)."""
    import transformers.generation.utils as generation_utils

    caches = []

    class RecordedStaticCache(generation_utils.StaticCache):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            caches.append(self)

    monkeypatch.setattr(generation_utils, "StaticCache", RecordedStaticCache)
    return caches
