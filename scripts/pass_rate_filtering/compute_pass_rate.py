#!/usr/bin/env python
"""Pass-rate filtering: sample k completions per problem, grade them, keep problems of the right difficulty.

For each row, `num_generations` completions are sampled from `model_name_or_path` with one of three
backends, graded with the project's rewards (`reward_funcs`, built by `open_r1.rewards.get_reward_funcs`;
a sample passes when every listed reward gives 1.0), and the row gets the columns `pass_rate`,
`pass_rate_generations` and `pass_rate_rewards`. Rows whose pass rate lies in
[`pass_rate_min`, `pass_rate_max`] are kept; rows whose gold answer cannot be graded get
`pass_rate` None and are not kept (they are counted in the log), as do rows whose prompt leaves the model no room
to generate (not sampled; reported by index). With a code reward, rows whose stdin/stdout tests
all expect empty output, or all one output (passed by a program that solves nothing, so the reward gives None), are
reported before sampling, by count and by `id` (or row index).

    # GPU, vLLM
    python scripts/pass_rate_filtering/compute_pass_rate.py --config recipes/dataset_filtering/config_demo.yaml
    # CPU, the tiny local model (python scripts/make_tiny_model.py first)
    python scripts/pass_rate_filtering/compute_pass_rate.py --config recipes/dataset_filtering/config_tiny_cpu.yaml

Backends: `vllm` (offline `vllm.LLM` on local GPUs), `openai` (any OpenAI-compatible server at
`base_url`, one request per sample, so servers that ignore `n` work), `transformers` (`generate` on
CPU or GPU). With `output_dir` the result is saved with `save_to_disk` as a DatasetDict:
`<split>` holds the kept rows and `<split>_all` every row with its pass rate; with
`output_dataset_name` both are pushed to the Hub as those splits.

Not covered: code problems (their rewards need a sandbox; add `code` to `reward_funcs` and configure
a provider), dataset mixtures, and resuming a killed run (shard with dataset_start/end_index).
"""

import json
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Literal, Optional

import datasets

from open_r1.configs import GRPOScriptArguments, RecipeParser
from open_r1.data.loading import load_dataset_reference
from open_r1.eval.decoding import flatten, regroup, sample_completions
from open_r1.hub_access import Push, check_references
from open_r1.rewards import get_reward_funcs
from open_r1.startup_checks import missing_reward_column
from open_r1.usage import (
    PATH_FIELDS,
    UsageError,
    command_line_settings,
    did_you_mean,
    exit_on_usage_error,
    loaded_references,
    system_prompt_text,
)
from open_r1.utils.generation_server import DEFAULT_BASE_URL, check_server_answers, server_api_key
from open_r1.utils.gpu_packages import missing_gpu_package
from open_r1.utils.logs import configure_logging

logger = logging.getLogger("compute_pass_rate")


@dataclass
class PassRateScriptArguments(GRPOScriptArguments):
    """Dataset and reward arguments of pass-rate filtering, plus the filter bounds and outputs."""

    pass_rate_min: float = field(default=0.1, metadata={"help": "Keep rows whose pass rate is at least this."})
    pass_rate_max: float = field(default=0.9, metadata={"help": "Keep rows whose pass rate is at most this."})
    dataset_start_index: Optional[int] = field(default=None, metadata={"help": "First row to process (shards)."})
    dataset_end_index: Optional[int] = field(default=None, metadata={"help": "Row after the last one to process."})
    output_dataset_name: Optional[str] = field(
        default=None,
        metadata={
            "help": "Hub id to push the result to. With neither this nor output_dir, upstream's name "
            "<dataset_name>-<model>-<model_revision>-gen (needs a Hub login)."
        },
    )
    output_dir: Optional[str] = field(default=None, metadata={"help": "Folder to save the result to (offline)."})
    reward_weights: Optional[list[float]] = field(
        default=None,
        metadata={
            "help": "Upstream recipes' weights of reward_funcs: positive, one per reward. They do not change the pass "
            "rate (a sample passes when every reward gives 1.0)."
        },
    )

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 <= self.pass_rate_min <= self.pass_rate_max <= 1.0:
            raise ValueError(
                f"need 0 <= pass_rate_min <= pass_rate_max <= 1, got {self.pass_rate_min} and {self.pass_rate_max}"
            )
        if self.dataset_mixture is not None:
            raise ValueError("pass-rate filtering reads one dataset: set dataset_name, not dataset_mixture")
        for name in ("dataset_start_index", "dataset_end_index"):
            if getattr(self, name) is not None and getattr(self, name) < 0:  # a negative one ended in a traceback
                raise ValueError(f"{name} is a row number, at least 0; got {getattr(self, name)}")
        if self.reward_weights is not None:
            funcs = [self.reward_funcs] if isinstance(self.reward_funcs, str) else list(self.reward_funcs)
            if len(self.reward_weights) != len(funcs) or any(w <= 0 for w in self.reward_weights):
                raise ValueError(
                    f"reward_weights {self.reward_weights} must be one positive weight per reward of {funcs}: a "
                    "sample passes when every reward gives 1.0, so a zero or negative weight has no meaning here"
                )


# The attention upstream's recipes name, which is what vLLM runs on GPUs that support it.
VLLM_ATTENTION = "flash_attention_2"


@dataclass
class PassRateGenerationArguments:
    """How the k completions per problem are sampled."""

    model_name_or_path: str = field(metadata={"help": "Model (Hub id or local folder, or the served model name)."})
    backend: Literal["vllm", "openai", "transformers"] = field(
        default="vllm", metadata={"help": "vllm (local GPUs), openai (a server at base_url) or transformers."}
    )
    model_revision: Optional[str] = field(
        default=None, metadata={"help": "vllm/transformers: the model's revision (branch, tag or commit)."}
    )
    dtype: str = field(
        default="auto", metadata={"help": "vllm/transformers: weights dtype (auto, bfloat16, float16, float32)."}
    )
    attn_implementation: Optional[str] = field(
        default=None,
        metadata={
            "help": "transformers: attention implementation (sdpa, eager, flash_attention_2). vllm picks its own "
            f"kernels: only {VLLM_ATTENTION!r} (what it uses on GPUs that have it) is accepted there."
        },
    )
    chat_template: Optional[str] = field(
        default=None, metadata={"help": "vllm/transformers: a Jinja chat template that replaces the tokenizer's."}
    )
    base_url: str = field(
        default=DEFAULT_BASE_URL, metadata={"help": "OpenAI-compatible API base URL (key: $OPENAI_API_KEY, if set)."}
    )
    num_generations: int = field(default=8, metadata={"help": "Completions sampled per problem (k)."})
    temperature: float = field(
        default=0.7, metadata={"help": "Sampling temperature (above 0 with several completions)."}
    )
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling top_p."})
    max_completion_length: int = field(default=4096, metadata={"help": "Tokens per completion at most."})
    system_prompt: Optional[str] = field(
        default=None, metadata={"help": "System message before every prompt, or a .txt/.md file holding it."}
    )
    batch_size: int = field(
        default=8,
        metadata={"help": "transformers backend: problems per generate() call (the evaluator's --batch_size)."},
    )
    max_concurrent_requests: int = field(default=64, metadata={"help": "openai backend: requests in flight."})
    request_timeout: float = field(
        default=900.0,
        metadata={
            "help": "openai backend: seconds a request may wait for the server's answer; a sample past it fails."
        },
    )
    tensor_parallel_size: int = field(default=1, metadata={"help": "vllm backend: GPUs per model."})
    gpu_memory_utilization: float = field(default=0.9, metadata={"help": "vllm backend: GPU memory fraction."})
    seed: int = field(default=42, metadata={"help": "Sampling seed."})

    def __post_init__(self):
        self.system_prompt = system_prompt_text(self.system_prompt)  # a .txt/.md file, as training reads it
        for name in ("num_generations", "max_completion_length", "batch_size", "max_concurrent_requests",
                     "tensor_parallel_size"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature:g}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1] (1.0 keeps every token), got {self.top_p:g}")
        if not 0 < self.gpu_memory_utilization <= 1:
            raise ValueError(f"gpu_memory_utilization must be in (0, 1], got {self.gpu_memory_utilization:g}")
        if self.temperature == 0 and self.num_generations > 1:
            raise ValueError(
                f"num_generations {self.num_generations} at temperature 0: every completion would be the greedy one, "
                "so a pass rate could only be 0 or 1; sample at a temperature above 0"
            )
        if self.backend == "openai":
            # The server loaded the model and holds its template: these cannot reach it from here.
            local_only = {
                "model_revision": self.model_revision,
                "attn_implementation": self.attn_implementation,
                "chat_template": self.chat_template,
                "dtype": None if self.dtype == "auto" else self.dtype,
            }
            given = sorted(name for name, value in local_only.items() if value is not None)
            if given:
                raise ValueError(
                    f"backend 'openai' cannot apply {given}: the server at base_url loaded the model; set them where "
                    "the server starts (e.g. vllm serve --revision/--dtype/--chat-template)"
                )
        # The fields only one backend reads: another's would be dropped without a word.
        owners = {
            "base_url": "openai",
            "max_concurrent_requests": "openai",
            "tensor_parallel_size": "vllm",
            "gpu_memory_utilization": "vllm",
            "batch_size": "transformers",
        }
        defaults = {item.name: item.default for item in fields(self)}
        ignored = sorted(
            name for name, owner in owners.items() if owner != self.backend and getattr(self, name) != defaults[name]
        )
        if ignored:
            readers = ", ".join(f"{name} ({owners[name]})" for name in ignored)
            raise ValueError(f"backend {self.backend!r} does not read {readers}: remove them or choose that backend")
        if self.backend == "vllm" and self.attn_implementation not in (None, VLLM_ATTENTION):
            raise ValueError(
                f"attn_implementation={self.attn_implementation!r}: backend 'vllm' chooses its own attention kernels "
                f"(flash attention where the GPU has it); use backend 'transformers' for {self.attn_implementation!r}"
            )


def build_conversations(prompts: list, system_prompt: str | None, column: str) -> list[list[dict]]:
    """Chat messages per row: a string prompt becomes a user message; a message list is used as is. A row that is
    neither (a number, an empty list: a chat-template traceback once the model had loaded) is a UsageError."""
    conversations = []
    for number, prompt in enumerate(prompts):
        if isinstance(prompt, str):
            messages = [{"role": "user", "content": prompt}]
        elif (
            isinstance(prompt, list)
            and prompt
            and all(isinstance(m, dict) and {"role", "content"} <= set(m) for m in prompt)
        ):
            messages = [dict(m) for m in prompt]
        else:
            raise UsageError(
                f"row {number}: column {column!r} must be a string or a non-empty list of messages (role, content), "
                f"got {prompt!r:.200}"
            )
        if system_prompt and messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": system_prompt})
        conversations.append(messages)
    return conversations


def sample_transformers(conversations: list[list[dict]], args: PassRateGenerationArguments) -> list[list[str]]:
    _, completions, _ = sample_completions(
        args.model_name_or_path,
        conversations,
        num_samples=args.num_generations,
        temperature=args.temperature,
        top_p=args.top_p,
        max_new_tokens=args.max_completion_length,
        batch_size=args.batch_size,
        seed=args.seed,
        dtype=args.dtype,
        revision=args.model_revision,
        attn_implementation=args.attn_implementation,
        chat_template=args.chat_template,
    )
    return completions


def sample_openai(conversations: list[list[dict]], args: PassRateGenerationArguments) -> list[list[str]]:
    """One request per sample; a sample whose request fails (an error answer, one of the wrong shape, no answer
    within `request_timeout`) is None, and its row is not graded (`drop_failed_samples`): one over-long prompt's
    400 had lost the whole shard."""
    import openai

    # One line now, where every request retried and the run then failed without naming the URL.
    check_server_answers(args.base_url, "base_url", model=args.model_name_or_path, api_key=server_api_key())
    client = openai.OpenAI(
        base_url=args.base_url, api_key=server_api_key(), max_retries=2, timeout=args.request_timeout
    )

    def one(job: tuple[int, int]) -> str | None:
        row, sample = job
        try:
            response = client.chat.completions.create(
                model=args.model_name_or_path,
                messages=conversations[row],
                temperature=args.temperature,
                top_p=args.top_p,
                max_tokens=args.max_completion_length,
                seed=args.seed + row * args.num_generations + sample,
            )
            content = response.choices[0].message.content
        except (openai.APIError, IndexError, AttributeError, TypeError) as error:
            failures.append(f"row {row}: {type(error).__name__}: {str(error)[:200]}")
            return None
        if not isinstance(content, str):  # a null completion is no answer to grade as wrong
            failures.append(f"row {row}: the server's answer has no text content")
            return None
        return content

    failures: list[str] = []
    jobs = [(row, sample) for row in range(len(conversations)) for sample in range(args.num_generations)]
    pool = ThreadPoolExecutor(args.max_concurrent_requests)
    try:
        texts = list(pool.map(one, jobs))
    except KeyboardInterrupt:
        # Leaving the pool would wait for every request in flight (up to request_timeout): stop now, as nothing is
        # saved before all rows are graded.
        pool.shutdown(wait=False, cancel_futures=True)
        print("\ncompute_pass_rate.py: interrupted; nothing was saved", file=sys.stderr, flush=True)
        os._exit(130)
    pool.shutdown()
    if failures:
        logger.warning("%d of %d requests failed, the first: %s", len(failures), len(jobs), failures[0])
    k = args.num_generations
    return [texts[i * k : (i + 1) * k] for i in range(len(conversations))]


def drop_failed_samples(generations: list[list[str | None]], split: str) -> list[list[str]]:
    """Rows with a sample that failed (None) lose them all and get pass_rate None, named: a rate over the samples
    that came back would count a row's failures as neither passes nor fails."""
    failed = [row for row, samples in enumerate(generations) if any(text is None for text in samples)]
    if failed:
        logger.warning(
            "%d rows have samples whose requests failed: not graded, pass_rate None (in %s_all), rows %s%s",
            len(failed),
            split,
            failed[:MAX_NAMED_ROWS],
            f" (the first {MAX_NAMED_ROWS})" if len(failed) > MAX_NAMED_ROWS else "",
        )
    dropped = set(failed)
    return [[] if row in dropped else samples for row, samples in enumerate(generations)]


def sample_vllm(conversations: list[list[dict]], args: PassRateGenerationArguments) -> list[list[str]]:
    problem = missing_gpu_package("vllm", "backend 'vllm'", "use backend 'transformers'")
    if problem:
        raise ImportError(problem)
    from vllm import LLM, SamplingParams

    llm = LLM(
        args.model_name_or_path,
        revision=args.model_revision,
        dtype=args.dtype,
        tensor_parallel_size=args.tensor_parallel_size,
        gpu_memory_utilization=args.gpu_memory_utilization,
        seed=args.seed,
    )
    params = SamplingParams(
        n=args.num_generations, temperature=args.temperature, top_p=args.top_p, max_tokens=args.max_completion_length
    )
    outputs = llm.chat(conversations, params, chat_template=args.chat_template)
    return [[choice.text for choice in output.outputs] for output in outputs]


SAMPLERS = {"transformers": sample_transformers, "openai": sample_openai, "vllm": sample_vllm}


def grade(rows: dict[str, list], generations: list[list[str]], reward_funcs: list) -> list[list[float | None]]:
    """Per row, per sample: 1.0 if every reward gives 1.0, 0.0 if one does not, None if one cannot judge."""
    flat_texts, repeats = flatten(generations)
    flat_completions = [[{"role": "assistant", "content": text}] for text in flat_texts]
    columns = {name: [v for v, r in zip(values, repeats) for _ in range(r)] for name, values in rows.items()}
    per_reward = [reward(flat_completions, **columns) for reward in reward_funcs]
    verdicts = [
        None if any(s is None for s in scores) else float(all(s >= 1.0 for s in scores)) for scores in zip(*per_reward)
    ]
    return regroup(verdicts, repeats)


def _stdin_stdout_test_lists(reward_name: str, rows: dict[str, list], index: int) -> list:
    """The lists of stdin/stdout tests `reward_name` judges row `index` on ([] for other rewards or no such column)."""
    if reward_name in ("code", "binary_code", "ioi_code") and rows.get("verification_info") is not None:
        info = rows["verification_info"][index]
        info = json.loads(info) if isinstance(info, str) else info
        if not isinstance(info, dict):
            return []
        if reward_name == "ioi_code":
            subtasks = info.get("subtasks")
            return [s.get("test_cases") for s in subtasks if isinstance(s, dict)] if isinstance(subtasks, list) else []
        return [info.get("test_cases")]
    if reward_name == "cf_code" and rows.get("official_tests") is not None:
        tests = rows["official_tests"][index]
        problem = (rows.get("id") or [None] * (index + 1))[index]
        complete = (rows.get("official_tests_complete") or [True] * (index + 1))[index]
        if isinstance(tests, list) and problem is not None and (os.environ.get("CF_TESTS_FOLDER") or not complete):
            from open_r1.rewards.codeforces import get_generated_tests

            tests = tests + get_generated_tests(problem)
        return [tests]
    return []


def rows_whose_tests_expect_nothing(rows: dict[str, list], reward_names: list[str]) -> list[int]:
    """Indices of the rows a code reward cannot judge because every test it would run (every test of a subtask, for
    ioi_code) expects empty output, or all of them one output, which a program that solves nothing passes: the
    reward gives them None."""
    from open_r1.rewards.code import NoJudgeableTest, as_test_cases

    count = len(next(iter(rows.values()), []))
    found = []
    for index in range(count):
        for name in reward_names:
            try:
                for tests in _stdin_stdout_test_lists(name, rows, index):
                    as_test_cases(tests, f"row {index}")
            except NoJudgeableTest:
                found.append(index)
                break
            except (ValueError, TypeError):
                continue  # malformed in another way: the reward names it when it grades the row
    return found


# How many of those rows the log names.
MAX_NAMED_ROWS = 100


def report_rows_whose_tests_expect_nothing(rows: dict[str, list], script_args: PassRateScriptArguments) -> list:
    """Logs (and returns) the ids, else the row numbers, of the rows no code reward of the recipe can judge."""
    names = [script_args.reward_funcs] if isinstance(script_args.reward_funcs, str) else list(script_args.reward_funcs)
    indices = rows_whose_tests_expect_nothing(rows, names)
    first_row = script_args.dataset_start_index or 0
    named = [rows["id"][i] if "id" in rows else first_row + i for i in indices]
    if named:
        logger.warning(
            "%d rows cannot be judged and get pass_rate None: every test expects empty output, or all of them one "
            "output, which a program that solves nothing passes; %s%s: %s",
            len(named),
            "ids" if "id" in rows else "row numbers",
            f" (the first {MAX_NAMED_ROWS})" if len(named) > MAX_NAMED_ROWS else "",
            named[:MAX_NAMED_ROWS],
        )
    return named


def pass_rate(verdicts: list[float | None]) -> float | None:
    """Fraction of samples that passed; None when a sample could not be judged (an ungradable gold)."""
    if not verdicts or any(v is None for v in verdicts):
        return None
    return sum(verdicts) / len(verdicts)


def default_output_dataset_name(script_args: PassRateScriptArguments, gen_args: PassRateGenerationArguments) -> str:
    """Upstream's Hub dataset for a run that names no output: <dataset>-<model>-<revision>-gen."""
    model = gen_args.model_name_or_path.rstrip("/").split("/")[-1]
    return f"{script_args.dataset_name}-{model}-{gen_args.model_revision}-gen"


def pushes_to_upstreams_name(output_dir: str | None, output_dataset_name: str | None) -> bool:
    """Upstream's rule: a run that names neither output pushes to `default_output_dataset_name`."""
    return not output_dir and not output_dataset_name


def resolve_outputs(script_args: PassRateScriptArguments, gen_args: PassRateGenerationArguments) -> None:
    """With neither output_dir nor output_dataset_name, push where upstream did; checked before any sampling, so a
    missing Hub login fails now rather than after hours of generation."""
    if not pushes_to_upstreams_name(script_args.output_dir, script_args.output_dataset_name):
        return
    from huggingface_hub import get_token

    name = default_output_dataset_name(script_args, gen_args)
    if get_token() is None:
        raise UsageError(
            f"set output_dir (local) and/or output_dataset_name (Hub) to keep the result; without them the result is "
            f"pushed to {name} as upstream did, which needs a Hub login (hf auth login)"
        )
    logger.warning("No output_dir or output_dataset_name: the result will be pushed to %s (upstream's name)", name)
    script_args.output_dataset_name = name


def load_rows(script_args: PassRateScriptArguments) -> datasets.Dataset:
    """The rows to score (the shard `dataset_start_index`:`dataset_end_index` of the split), checked to hold the
    prompt column."""
    split = script_args.dataset_train_split
    dataset = load_dataset_reference(script_args.dataset_name, script_args.dataset_config, split)
    if script_args.dataset_start_index is not None or script_args.dataset_end_index is not None:
        start = script_args.dataset_start_index or 0
        # A last shard's end may pass the split's end, as a slice's may: it ends with the split.
        end = min(len(dataset), script_args.dataset_end_index or len(dataset))
        if start >= end:
            raise UsageError(
                f"dataset_start_index {start} to dataset_end_index {script_args.dataset_end_index} keeps none of the "
                f"{len(dataset)} rows of split {split!r}"
            )
        dataset = dataset.select(range(start, end))
    column = script_args.dataset_prompt_column
    if column not in dataset.column_names:
        raise UsageError(
            f"dataset_prompt_column {column!r} is not a column of the dataset: {dataset.column_names}"
            + did_you_mean(column, dataset.column_names, "dataset_prompt_column ")
        )
    # Before sampling: the grading found a missing gold after all of it.
    missing = missing_reward_column(dataset.column_names, script_args.reward_funcs)
    if missing:
        raise UsageError(f"{missing}; the dataset has {dataset.column_names}")
    return dataset


def local_tokenizer(gen_args: PassRateGenerationArguments):
    """The tokenizer the samples are drawn with, with the recipe's chat template; None for the openai backend, whose
    server holds its own."""
    if gen_args.backend == "openai":
        return None
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gen_args.model_name_or_path, revision=gen_args.model_revision)
    if gen_args.chat_template is not None:
        tokenizer.chat_template = gen_args.chat_template
    return tokenizer


def check_template_against_think_prefilled(script_args, tokenizer) -> None:
    """`think_prefilled` against the chat template the samples are drawn with (`local_tokenizer`), as grpo.py checks
    it: the format and accuracy rewards read a completion differently when the prompt opened `<think>`. The openai
    backend's server holds its own template (no tokenizer): not checked."""
    if tokenizer is None:
        return
    from open_r1.utils.model_utils import check_think_prefill

    check_think_prefill(tokenizer, script_args)


def report_rows_past_the_context(conversations: list[list[dict]], tokenizer, gen_args, split: str) -> list[int]:
    """The rows whose prompt, as the chat template renders it, leaves the model no room to generate (its
    `max_position_embeddings`), reported by count and index: they are not sampled and get pass_rate None, where
    one such row had stopped the whole shard. The openai backend's server holds its own context: not checked."""
    if tokenizer is None:
        return []
    from transformers import AutoConfig

    from open_r1.utils.model_utils import model_context

    context = model_context(AutoConfig.from_pretrained(gen_args.model_name_or_path, revision=gen_args.model_revision))
    if context is None:
        return []
    texts = [
        tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        for messages in conversations
    ]
    # The chat template wrote the special tokens already, as the samplers read it.
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    too_long = [row for row, length in enumerate(lengths) if length >= context]
    if too_long:
        logger.warning(
            "%d rows' prompts are at least the model's context (%d tokens) and leave no room to generate: not sampled, "
            "pass_rate None (in %s_all), rows %s%s",
            len(too_long),
            context,
            split,
            too_long[:MAX_NAMED_ROWS],
            f" (the first {MAX_NAMED_ROWS})" if len(too_long) > MAX_NAMED_ROWS else "",
        )
    return too_long


def main(script_args: PassRateScriptArguments, gen_args: PassRateGenerationArguments) -> datasets.DatasetDict:
    if gen_args.backend == "vllm":  # now, not once the dataset has loaded
        problem = missing_gpu_package("vllm", "backend 'vllm'", "use backend 'transformers'")
        if problem:
            raise UsageError(problem)
    resolve_outputs(script_args, gen_args)
    dataset = load_rows(script_args)
    split = script_args.dataset_train_split
    column = script_args.dataset_prompt_column
    conversations = build_conversations(dataset[column], gen_args.system_prompt, column)
    tokenizer = local_tokenizer(gen_args)
    check_template_against_think_prefilled(script_args, tokenizer)  # it may set think_prefilled for the rewards
    reward_funcs = get_reward_funcs(script_args)
    rows = dataset.to_dict()
    report_rows_whose_tests_expect_nothing(rows, script_args)
    too_long = set(report_rows_past_the_context(conversations, tokenizer, gen_args, split))
    sampled = [conversation for row, conversation in enumerate(conversations) if row not in too_long]
    logger.info("Sampling %d x %d completions with %s", len(sampled), gen_args.num_generations, gen_args.backend)
    drawn = iter(SAMPLERS[gen_args.backend](sampled, gen_args) if sampled else [])
    generations = drop_failed_samples(
        [[] if row in too_long else next(drawn) for row in range(len(conversations))], split
    )
    verdicts = grade(rows, generations, reward_funcs)
    rates = [pass_rate(v) for v in verdicts]

    scored = dataset.add_column("pass_rate", rates)
    scored = scored.add_column("pass_rate_generations", generations)
    scored = scored.add_column("pass_rate_rewards", verdicts)
    keep = [
        i
        for i, rate in enumerate(rates)
        if rate is not None and script_args.pass_rate_min <= rate <= script_args.pass_rate_max
    ]
    result = datasets.DatasetDict({split: scored.select(keep), f"{split}_all": scored})
    ungradable = sum(rate is None for rate in rates)
    logger.info(
        "Kept %d of %d rows with pass rate in [%s, %s]; %d rows could not be graded",
        len(keep),
        len(rates),
        script_args.pass_rate_min,
        script_args.pass_rate_max,
        ungradable,
    )
    if script_args.output_dir:
        result.save_to_disk(script_args.output_dir)
        logger.info("Saved to %s", script_args.output_dir)
    if script_args.output_dataset_name:
        result.push_to_hub(script_args.output_dataset_name, config_name=script_args.dataset_config or "default")
    return result


def check_paths_and_hub(argv: list[str]) -> None:
    """The recipe's YAML, the local paths it and argv name, and the Hub for the others and for the push, before
    sampling; a model served at base_url (backend openai) is a name, not something to load."""
    settings = command_line_settings(argv, (*PATH_FIELDS, "backend", "output_dir", "output_dataset_name"))
    push = None
    if settings.get("output_dataset_name"):
        push = Push("output_dataset_name pushes the result to the Hub", "leave it out and set output_dir")
    elif pushes_to_upstreams_name(settings.get("output_dir"), settings.get("output_dataset_name")):
        push = Push("without output_dir or output_dataset_name the result goes to the Hub", "set output_dir")
    check_references(loaded_references(settings, models=settings.get("backend") != "openai"), push)


def cli(argv: list[str] | None = None) -> datasets.DatasetDict:
    """The command line: a mistake in the recipe or the options is one line and exit status 2, before sampling."""
    argv = sys.argv[1:] if argv is None else argv
    with exit_on_usage_error("compute_pass_rate.py"):
        if "generation_batch_size" in command_line_settings(argv, ("generation_batch_size",)):
            raise UsageError(
                "generation_batch_size is GRPO's (completions per generation step); this script's is batch_size, "
                "problems per transformers generate() call"
            )
        # RecipeParser reads upstream open-r1 names too (e.g. dataset_split), see recipes/README.md.
        parser = RecipeParser((PassRateScriptArguments, PassRateGenerationArguments))
        # Fields first: a trainer's recipe is named as one before its paths are looked for.
        script_args, gen_args = parser.parse_args_and_config(argv)
        check_paths_and_hub(argv)
        return main(script_args, gen_args)


if __name__ == "__main__":
    configure_logging()
    cli()
    sys.exit(0)
