"""transformers' compiled decode step on a CPU, for tests: torch.compile's eager backend (dynamo traces and guards the
step, no code generation), with transformers' switch that lets it compile off a GPU."""

from transformers import CompileConfig


def cpu_compile_config(*args) -> CompileConfig:
    """A CompileConfig transformers applies on a CPU (any arguments, such as a device, are ignored)."""
    config = CompileConfig(backend="eager", mode=None)
    config._compile_all_devices = True
    return config
