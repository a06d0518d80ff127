"""Where and how programs run: `SandboxConfig`, the one description of a code-execution provider.

    from open_r1.sandbox import SandboxConfig, get_provider
    sandbox = SandboxConfig("e2b", num_workers=4, router_url="10.0.0.5:8000")   # validated here, once
    provider = get_provider(sandbox)                                           # built once per configuration

A recipe's sandbox fields (`code_provider`, `code_num_workers`, `e2b_router_url`, ...) become one `SandboxConfig`
when the recipe is parsed (`open_r1.configs.GRPOScriptArguments`), and that object goes unchanged to the code
rewards, the python tool and `get_provider`: one name per concept (`provider`, `num_workers`, `router_url`) and
one check of each value, here.

Not covered: building providers (`factory`), or what each provider does with its settings (their modules).
"""

from dataclasses import dataclass, field
from typing import Optional

from .base import Limits

PROVIDERS = ("local", "e2b", "morph", "piston")
# Providers that can be reached through a router (scripts/e2b_router.py, scripts/morph_router.py).
ROUTED_PROVIDERS = ("e2b", "morph")
DEFAULT_PROVIDER = "local"
DEFAULT_SANDBOX_WORKERS = 2
# Seconds a router gives a batch of scripts (what the client asks for and what the router assumes when not told).
DEFAULT_ROUTER_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class SandboxConfig:
    """A provider by name ('local', 'e2b', 'morph' or 'piston'), its programs run at once per process
    (`num_workers`), the router it goes through (e2b and morph only) and the limits of each run."""

    provider: str = field(default=DEFAULT_PROVIDER, metadata={"help": f"Where programs run: one of {PROVIDERS}."})
    num_workers: int = field(
        default=DEFAULT_SANDBOX_WORKERS, metadata={"help": "Programs run at once, per training process."}
    )
    router_url: Optional[str] = field(
        default=None, metadata={"help": "host:port of an E2B or Morph router holding the account (scripts/)."}
    )
    limits: Limits = field(default_factory=Limits, metadata={"help": "The limits of each run (`Limits`)."})

    def __post_init__(self):
        if self.provider not in PROVIDERS:
            raise ValueError(f"Unknown code provider {self.provider!r}; expected one of {PROVIDERS}")
        if not isinstance(self.num_workers, int) or isinstance(self.num_workers, bool) or self.num_workers < 1:
            raise ValueError(f"num_workers must be a positive integer, got {self.num_workers!r}")
        if self.router_url is not None and self.provider not in ROUTED_PROVIDERS:
            raise ValueError(
                f"router_url {self.router_url!r} is set but the {self.provider} provider takes no router (only "
                f"{' and '.join(ROUTED_PROVIDERS)} do)"
            )
        if not isinstance(self.limits, Limits):
            raise ValueError(f"limits must be a Limits, got {type(self.limits).__name__}")
