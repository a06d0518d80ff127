"""Running untrusted programs for code rewards: a local kernel-isolated sandbox and cloud providers.

- `local.LocalSandbox`: the default; namespaces + rlimits on this Linux machine (see its docstring for what
  it protects and what it does not).
- `e2b.E2BProvider`, `morph.MorphProvider`: cloud sandboxes (optional `code` extra), directly or through a
  router (`scripts/e2b_router.py`, `scripts/morph_router.py`).
- `piston.PistonClient`: a self-hosted Piston fleet for IOI / Codeforces problems.
- `SandboxConfig` (`config`): provider, worker count, router URL and limits, validated once when it is made.
- `get_provider(config)` (`factory`): builds the provider a `SandboxConfig` describes, once per configuration,
  thread-safely.
- `languages`: the one table of languages and aliases every provider and the code rewards use.

Every provider returns the same `ProgramResult` (verdict per test, scoring) from `base`.
Not covered: what a reward pays for a result (`open_r1.rewards.code`), the python tool's calls
(`open_r1.tools.python_tool`).
"""

from .base import (
    SCORING_MODES,
    CodeExecutionProvider,
    Limits,
    ProgramResult,
    Submission,
    TestCase,
    TestOutcome,
    Verdict,
    outputs_match,
)
from .config import PROVIDERS, SandboxConfig
from .factory import get_provider
from .languages import UnsupportedLanguageError, canonical_language
from .local import LocalSandbox, SandboxUnavailableError, isolation_mode

__all__ = [
    "SCORING_MODES",
    "CodeExecutionProvider",
    "Limits",
    "LocalSandbox",
    "PROVIDERS",
    "ProgramResult",
    "SandboxConfig",
    "SandboxUnavailableError",
    "Submission",
    "TestCase",
    "TestOutcome",
    "UnsupportedLanguageError",
    "Verdict",
    "canonical_language",
    "get_provider",
    "isolation_mode",
    "outputs_match",
]
