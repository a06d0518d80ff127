"""Arguments of the offline evaluator (`python -m open_r1.evaluate`), and the sampling defaults.

The sampling defaults here (DEFAULT_TEMPERATURE 0.6, DEFAULT_TOP_P 0.95, DEFAULT_MAX_NEW_TOKENS 32,768:
DeepSeek-R1's evaluation setting) are also the ones `open_r1.eval.lighteval_command` puts on the lighteval
command line and `open_r1.eval.lighteval_tasks` gives its local tasks, and the temperature and top_p are
scripts/generate_reasoning.py's: import them, never restate them.

Not covered: the evaluation itself (`open_r1.eval.offline`) and lighteval's own arguments
(`open_r1.eval.lighteval_command`).
"""

import math
import os
import re
from dataclasses import dataclass, field, fields
from typing import Optional

from open_r1.eval.decoding import DTYPES
from open_r1.eval.few_shot import PROMPT_STYLES, check_fewshot_settings
from open_r1.hub_access import check_references
from open_r1.rewards.accuracy import DEFAULT_GRADING_WORKERS, DEFAULT_TIMEOUT_SECONDS
from open_r1.sandbox.config import DEFAULT_SANDBOX_WORKERS
from open_r1.tools import check_tool_names, python_tool
from open_r1.tools.arguments import ToolArguments
from open_r1.tools.rollout import DEFAULT_MAX_TOOL_CALLING_ITERATIONS
from open_r1.usage import (
    UsageError,
    check_local_path,
    check_output_folder,
    dataclass_parser,
    did_you_mean,
    system_prompt_text,
)

DEFAULT_TEMPERATURE = 0.6
DEFAULT_TOP_P = 0.95
DEFAULT_MAX_NEW_TOKENS = 32768


@dataclass
class EvaluateArguments(ToolArguments):
    """What to evaluate, how to sample, and where to write results.json and details.jsonl."""

    task: str = field(metadata={"help": "Benchmark name written to results.json, e.g. math_500 or aime24."})
    data_files: str = field(
        metadata={
            "help": "Benchmark JSONL file with id, problem and answer per line (e.g. ../shared/data/math500.jsonl)."
        }
    )
    output_dir: str = field(metadata={"help": "Folder for results.json and details.jsonl (created if missing)."})
    model: Optional[str] = field(
        default=None,
        metadata={"help": "Model folder or Hub id to sample completions from (transformers, CPU or GPU)."},
    )
    predictions: Optional[str] = field(
        default=None,
        metadata={
            "help": "JSONL of saved completions (id, completion per line; a details.jsonl works, gzipped as .gz "
            "too) to grade instead of generating. Exclusive with --model."
        },
    )
    num_samples: Optional[int] = field(
        default=None,
        metadata={"help": "Completions per problem (default 1); with --predictions it must match the file."},
    )
    pass_k: list[int] = field(default_factory=lambda: [1], metadata={"help": "k values of pass@k to report."})
    maj_k: list[int] = field(default_factory=list, metadata={"help": "k values of maj@k (majority vote) to report."})
    limit: Optional[int] = field(default=None, metadata={"help": "Evaluate only the first N problems of the file."})
    system_prompt: Optional[str] = field(
        default=None,
        metadata={"help": "System message prepended to each prompt, or a .txt/.md file holding it (as in training)."},
    )
    prompt_style: str = field(
        default="boxed",
        metadata={
            "help": "boxed: the problem and DeepSeek-R1's instruction to box the answer, graded like accuracy_reward; "
            "plain: lighteval's GSM8K protocol ('Question: ...\\nAnswer:', shots as earlier turns, the number after "
            "'####' matched exactly; open_r1.eval.few_shot)."
        },
    )
    num_fewshot: int = field(
        default=0, metadata={"help": "Worked examples shown before each problem (plain style; from --fewshot_file)."}
    )
    fewshot_file: Optional[str] = field(
        default=None,
        metadata={
            "help": "JSONL of worked examples (problem, solution), e.g. ../shared/data/gsm8k_train.jsonl; refused if "
            "it is the evaluated file or shares a problem with it."
        },
    )
    fewshot_seed: int = field(
        default=0, metadata={"help": "Seed of the shots' draw (per problem), apart from the sampling --seed."}
    )
    stop_sequences: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Texts that end a completion (cut before the first); the end of the turn always does. lighteval "
            "ignores a task's stop sequences when it uses a chat template, so its protocol leaves this empty."
        },
    )
    temperature: float = field(
        default=DEFAULT_TEMPERATURE, metadata={"help": "Sampling temperature (0 means greedy decoding)."}
    )
    top_p: float = field(default=DEFAULT_TOP_P, metadata={"help": "Nucleus sampling threshold."})
    max_new_tokens: int = field(
        default=DEFAULT_MAX_NEW_TOKENS, metadata={"help": "Generation budget per completion, in tokens."}
    )
    batch_size: int = field(default=8, metadata={"help": "Problems per generate() call."})
    seed: int = field(default=42, metadata={"help": "Sampling seed."})
    dtype: str = field(default="auto", metadata={"help": f"Model dtype: {', '.join(DTYPES)}."})
    device: str = field(default="auto", metadata={"help": "cpu, cuda, or auto (cuda when available)."})
    dry_run: bool = field(
        default=False,
        metadata={
            "help": "Check the arguments and read the files (benchmark, shots, predictions; the model's tokenizer and "
            "config, not its weights) as an evaluation would, then print the command, without evaluating."
        },
    )
    compile_decoding: bool = field(
        default=False,
        metadata={
            "help": "On a GPU: decode from a static cache of one length with transformers' compiled decode step "
            "(torch.compile, CUDA graphs), each batch's rows padded to a few counts (open_r1.eval.decoding). The "
            "first call compiles; float32 results may differ from uncompiled decoding in rare near-ties."
        },
    )
    reward_num_workers: int = field(
        default=DEFAULT_GRADING_WORKERS,
        metadata={"help": "Worker processes that grade answers in parallel (GRPO's field of the same name)."},
    )
    reward_timeout_seconds: float = field(
        default=DEFAULT_TIMEOUT_SECONDS,
        metadata={
            "help": "Hard time limit to grade one completion; past it the completion counts as wrong (GRPO's field of "
            "the same name, whose reward is then 0)."
        },
    )
    max_tool_calling_iterations: Optional[int] = field(
        default=DEFAULT_MAX_TOOL_CALLING_ITERATIONS,
        metadata={
            "help": "With --tools: rounds of tool calls per completion before the model must answer; 0 runs no call "
            "(the baseline arm of make demo TOOLS=1). None (from Python or a GRPO recipe, as TRL's None) leaves the "
            "rounds to the token budget, --max_new_tokens."
        },
    )
    code_num_workers: int = field(
        default=DEFAULT_SANDBOX_WORKERS,
        metadata={"help": "With --tools python: tool programs run at once (GRPO's field of the same name)."},
    )
    tool_rollout_chunk_tokens: Optional[int] = field(
        default=None,
        metadata={
            "help": "With --tools: decode the rollouts with rows joining, at most --batch_size x samples rollouts and "
            "this many tokens per generate call, each rollout going on after its tool results at the next call and "
            "the next one taking the row of one that ended (open_r1.tools.rollout). Unset: rounds, each decoding "
            "until its longest row's turn ends."
        },
    )

    @property
    def samples_per_problem(self) -> int:
        """--num_samples, 1 when unset (unset and 1 differ only for --predictions, whose count then goes unchecked)."""
        return self.num_samples or 1

    def tool_settings(self):
        """The python tool's settings, or None without --tools."""
        if not self.tools:
            return None
        return self.python_tool_settings(
            python_tool.tool_sandbox(self.python_tool_provider, self.code_num_workers),
            self.max_tool_calling_iterations,
        )

    def _check_tools(self):
        check_tool_names(self.tools, "--tools")
        if self.tools and self.predictions is not None:
            raise ValueError("--tools applies to generation; --predictions grades saved completions as they are")
        defaults = {item.name: item.default for item in fields(self)}
        unused = [name for name in TOOL_FIELDS if getattr(self, name) != defaults[name]]
        if unused and not self.tools:
            raise ValueError(f"--{unused[0]} is set but --tools is empty: it would be ignored")
        if self.max_tool_calling_iterations is not None and self.max_tool_calling_iterations < 0:
            raise ValueError(f"--max_tool_calling_iterations must be >= 0, got {self.max_tool_calling_iterations}")
        if self.tool_rollout_chunk_tokens is not None and self.tool_rollout_chunk_tokens < 1:
            raise ValueError(
                f"--tool_rollout_chunk_tokens must be a positive number of tokens, got {self.tool_rollout_chunk_tokens}"
            )
        self.tool_settings()  # the settings' own checks (provider, limits), now

    def _check_prompt(self):
        if self.prompt_style not in PROMPT_STYLES:
            raise UsageError(
                f"--prompt_style must be one of {', '.join(PROMPT_STYLES)}, got {self.prompt_style!r}"
                + did_you_mean(self.prompt_style, PROMPT_STYLES, "--prompt_style ")
            )
        if self.num_fewshot > 0 and self.prompt_style != "plain":
            raise UsageError("--num_fewshot needs --prompt_style plain (the boxed style has no worked examples)")
        check_fewshot_settings(self.num_fewshot, self.fewshot_file, lambda name, value: f"--{name} {value}")
        if self.num_fewshot and self.predictions is not None:
            raise UsageError("--num_fewshot applies to generation; --predictions grades saved completions as they are")
        if self.prompt_style == "plain" and self.tools:
            raise UsageError("--prompt_style plain is lighteval's protocol, which has no tools; drop --tools")
        if self.stop_sequences and (self.tools or self.predictions is not None):
            raise UsageError("--stop_sequences applies to generation without tools")

    def _check_device(self) -> None:
        if not re.fullmatch(r"auto|cpu|(cuda|mps|xpu|hpu|npu)(:\d+)?", self.device):
            raise ValueError(f"--device must be auto, cpu, cuda (cuda:N) or another torch device, got {self.device!r}")
        if self.dtype not in DTYPES:  # else torch's AttributeError once the model is being loaded
            raise UsageError(
                f"--dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}"
                + did_you_mean(
                    {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}.get(self.dtype, self.dtype),
                    DTYPES,
                    "--dtype ",
                )
            )

    def _check_numbers(self) -> None:
        """Every float finite (`nan` and `inf` parse as floats, and results.json wrote them as NaN and Infinity,
        no JSON); the grader's workers and time limit positive: checked here, not once the completions are made."""
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise UsageError(f"--{item.name} must be a finite number, got {value}")
        if self.reward_num_workers < 1:
            raise UsageError(f"--reward_num_workers must be at least 1, got {self.reward_num_workers}")
        if not self.reward_timeout_seconds > 0:
            raise UsageError(f"--reward_timeout_seconds must be above 0, got {self.reward_timeout_seconds}")

    def _check_output_dir(self) -> None:
        """A folder named, and not the one --predictions is read from: the run writes details.jsonl and results.json
        there, and would write over the file it grades (or beside it, a folder of two runs)."""
        if not self.output_dir.strip():
            raise UsageError("--output_dir is empty; name the folder for results.json and details.jsonl")
        if self.predictions is not None:
            read_from = os.path.realpath(os.path.dirname(os.path.abspath(self.predictions)))
            if read_from == os.path.realpath(self.output_dir):
                raise UsageError(
                    f"--predictions {self.predictions} lies in --output_dir {self.output_dir}, where this run writes "
                    "its details.jsonl and results.json; name another --output_dir"
                )

    def __post_init__(self):
        self.system_prompt = system_prompt_text(self.system_prompt, "--system_prompt")  # as training reads it
        self._check_numbers()
        self._check_output_dir()
        self._check_tools()
        self._check_prompt()
        if (self.model is None) == (self.predictions is None):
            raise ValueError("give exactly one of --model (generate completions) or --predictions (grade saved ones)")
        if not self.task.strip():
            raise ValueError("--task must name the benchmark, e.g. math_500")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit must be a positive number of problems, got {self.limit}")
        if self.num_samples is not None and self.num_samples < 1:
            raise ValueError(f"--num_samples must be >= 1, got {self.num_samples}")
        for name in ("pass_k", "maj_k"):
            bad = [k for k in getattr(self, name) if k < 1]
            if bad:
                raise ValueError(f"--{name} values must be >= 1, got {bad}")
        if not self.pass_k:
            raise ValueError("--pass_k needs at least one k (pass@1 is always reported)")
        if 1 not in self.pass_k:
            self.pass_k = [1, *self.pass_k]
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError(f"need temperature >= 0 and 0 < top_p <= 1, got {self.temperature}, {self.top_p}")
        too_many = [k for k in (*self.pass_k, *self.maj_k) if k > self.samples_per_problem]
        if too_many and (self.model is not None or self.num_samples is not None):
            raise UsageError(
                f"--pass_k/--maj_k {too_many} exceed the {self.samples_per_problem} sample(s) per problem; raise "
                "--num_samples"
            )
        if self.model is not None and self.temperature == 0 and self.samples_per_problem > 1:
            raise UsageError(
                f"--num_samples {self.num_samples} at --temperature 0: every sample would be the greedy completion, "
                "and their spread no measure of anything; use --num_samples 1, or a temperature above 0"
            )
        for name in ("max_new_tokens", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be at least 1, got {getattr(self, name)}")
        self._check_device()
        if self.compile_decoding and (self.predictions is not None or self.device == "cpu"):
            where = "--predictions grades saved completions" if self.device != "cpu" else "--device cpu has no GPU"
            raise UsageError(f"--compile_decoding compiles generation on a GPU, and {where}; drop --compile_decoding")


# The fields that set up tool use (`--tools` and the settings it takes), each without effect when `tools` is empty.
TOOL_FIELDS = ("max_tool_calling_iterations", "code_num_workers", "tool_rollout_chunk_tokens") + tuple(
    item.name for item in fields(EvaluateArguments) if item.name.startswith("python_tool_")
)


def recipe_tool_settings(recipe: dict) -> dict:
    """The evaluator's tool options for a model trained with the GRPO `recipe` (its fields as read from YAML): its
    tools and every tool setting it gives, so that evaluation calls the tool as training did; none without tools."""
    if not recipe.get("tools"):
        return {}
    return {"tools": recipe["tools"], **{name: recipe[name] for name in TOOL_FIELDS if name in recipe}}


# The evaluator's files, which are never Hub ids (`--model` may be one): a missing one is named before anything loads.
LOCAL_FILE_FIELDS = ("data_files", "predictions", "fewshot_file")


def parse_command_line(argv: list[str] | None = None) -> EvaluateArguments:
    """The evaluator's command line as `EvaluateArguments`; every mistake in it (an unknown or misspelt option, a
    value that cannot be read, a check of the arguments) is a one-line `UsageError`, raised before any model loads."""
    parser = dataclass_parser(
        EvaluateArguments,
        prog="python -m open_r1.evaluate",
        usage="%(prog)s --task NAME --data_files FILE --output_dir DIR (--model M | --predictions FILE) [--FIELD VALUE ...]",
        description=EvaluateArguments.__doc__,
    )
    # --help lists the tool fields (most from the mixed-in ToolArguments, first in field order) last, apart.
    tool_group = parser.add_argument_group("tool use: --tools and the settings it reads")
    tool_options = ("tools", *TOOL_FIELDS)
    moved = [action for action in parser._optionals._group_actions if action.dest in tool_options]
    for action in sorted(moved, key=lambda action: tool_options.index(action.dest)):
        parser._optionals._group_actions.remove(action)
        tool_group._group_actions.append(action)
    (args,) = parser.parse_args_into_dataclasses(args=argv)
    for name in LOCAL_FILE_FIELDS:
        if getattr(args, name) is not None:
            check_local_path(f"--{name}", getattr(args, name), local_only=True)
    check_output_folder("--output_dir", args.output_dir)
    if args.model is not None:
        check_references([("--model", args.model, "model")])
    if args.model is not None and args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():  # else torch says so after the model loaded
            raise UsageError(f"--device {args.device}: no GPU is visible here; use --device cpu, or auto")
    return args
