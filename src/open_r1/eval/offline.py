"""Offline evaluation: sample completions for a local benchmark file (or read saved ones) and grade them.

    # sample 4 completions per problem from a model on CPU and grade them
    python -m open_r1.evaluate --task math_500 --data_files ../shared/data/math500.jsonl \
        --model data/tiny-model --num_samples 4 --max_new_tokens 64 --output_dir data/evals/tiny/math_500
    # grade saved completions (id, completion per line), e.g. re-grade an earlier details.jsonl
    python -m open_r1.evaluate --task math_500 --data_files ../shared/data/math500.jsonl \
        --predictions data/evals/tiny/math_500/details.jsonl --output_dir data/evals/regraded

    # SmolLM2's model-card protocol for GSM8K: 5 shots from the train file, greedy (open_r1.eval.few_shot)
    python -m open_r1.evaluate --task gsm8k --data_files ../shared/data/gsm8k_test.jsonl --model <folder> \
        --prompt_style plain --num_fewshot 5 --fewshot_file ../shared/data/gsm8k_train.jsonl --temperature 0 \
        --max_new_tokens 256 --output_dir data/evals/gsm8k_5shot

It needs neither a GPU nor the Hub. This module turns problems into chats, grades and writes the results;
the sampling itself (model loading, chat template, batching, transformers' `generate`) is
`open_r1.eval.decoding.sample_completions`. Grading is `open_r1.rewards.accuracy.grade_answers`, the same
code as `accuracy_reward`, so an evaluation number and a training reward agree on what "correct" means (a model
whose chat template opens `<think>` is graded as GRPO's `think_prefilled: true`; saved `--predictions` as their saved
prompt says, a details.jsonl's ending in `<think>` so, one without a prompt as without it); the
`plain` prompt style (lighteval's GSM8K prompt, few-shot, exact match of the number after `####`) is
`open_r1.eval.few_shot`.
It writes
- `results.json`: task, num_problems, num_samples, pass@k / maj@k with `<metric>_stderr`, the
  number of completions that could not be graded (counted as wrong), how many ended for each finish reason
  (`finish_reasons`: "length" counts those cut by --max_new_tokens), what generation decoded and how long it
  took (`decoding`: generate calls, decode steps, slot use, their seconds and the whole generation's, as
  `open_r1.utils.decoding_tally` counts them, and on a GPU the most memory the process reserved), and the settings
  used;
- `details.jsonl`: one line per completion (id, sample index, prompt, completion, extracted
  answer, gold, verdict, finish reason), so every number can be audited and re-graded with --predictions. With
  --tools the completion is the rollout's messages; each assistant turn also holds `generated_text`, the turn as
  the model wrote it (the parser moves `<think>` out of `content`).

For the GPU path with vLLM and lighteval's built-in tasks see `make evaluate` and
`open_r1.eval.lighteval_jobs`. Not covered here: code benchmarks (LiveCodeBench runs through lighteval),
how completions are decoded (`open_r1.eval.decoding`).
"""

import json
import logging
import os
import pathlib
import shlex
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from open_r1.data.benchmarks import (
    DETAILS_FILES,
    Predictions,
    Problem,
    build_messages,
    load_predictions,
    load_problems,
    read_jsonl,
)
from open_r1.eval import few_shot
from open_r1.eval.arguments import EvaluateArguments, parse_command_line
from open_r1.eval.decoding import FINISH_REASONS, flatten, regroup, resolved_device, sample_completions
from open_r1.eval.metrics import summarize_scores
from open_r1.usage import UsageError, as_bool, one_line
from open_r1.utils.decoding_tally import DecodingTally
from open_r1.utils.logs import configure_logging
from open_r1.utils.provenance import provenance_record, with_end_load
from open_r1.utils.results_docs import save_results

logger = logging.getLogger(__name__)


def build_conversations(args: EvaluateArguments, problems: list[Problem], all_problems: list[Problem]) -> list[list]:
    """The chat that asks each problem, in `args.prompt_style`; with --num_fewshot, shots from --fewshot_file only,
    after refusing a shot file that is the evaluated file or shares a problem with it (`all_problems`)."""
    if args.prompt_style == "boxed":
        return [build_messages(problem, args.system_prompt) for problem in problems]
    few_shot.check_whole_number_golds(all_problems, args.data_files)  # before the model, not at grading
    pool = []
    if args.num_fewshot:
        pool = few_shot.load_disjoint_shots(args.fewshot_file, args.data_files, all_problems)
    return [
        few_shot.plain_messages(
            problem, few_shot.draw_shots(pool, problem, args.num_fewshot, args.fewshot_seed), args.system_prompt
        )
        for problem in problems
    ]


def generate_completions(
    args: EvaluateArguments,
    problems: list[Problem],
    on_progress: Callable[..., None] | None = None,
    conversations: list[list] | None = None,
    decoding: DecodingTally | None = None,
) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """Prompts (after the chat template), `num_samples` sampled completions per problem, and why each ended
    (`open_r1.eval.decoding.FINISH_REASONS`).

    `conversations`: the chats to complete (`build_conversations`; by default the boxed style's); `decoding`
    counts the generate calls."""
    if conversations is None:
        conversations = [build_messages(problem, args.system_prompt) for problem in problems]
    return sample_completions(
        args.model,
        conversations,
        num_samples=args.samples_per_problem,
        temperature=args.temperature,
        top_p=args.top_p,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        seed=args.seed,
        device=args.device,
        dtype=args.dtype,
        on_progress=on_progress,
        tool_settings=args.tool_settings(),
        max_tool_calling_iterations=args.max_tool_calling_iterations,
        stop_sequences=args.stop_sequences,
        decoding=decoding,
        compile_decoding=args.compile_decoding,
        tool_rollout_chunk_tokens=args.tool_rollout_chunk_tokens,
    )


def grade_completions(
    problems: list[Problem],
    completions: list[list[str]],
    num_workers: int,
    timeout: float,
    prompt_style: str = "boxed",
    think_prefilled: bool | Sequence[bool] = False,
) -> tuple[list[list[str | None]], list[list[float | None]]]:
    """Extracted answers and grades (1.0, 0.0, or None when ungradable) for every completion.

    The boxed style grades like `accuracy_reward` (`think_prefilled`: the model's chat template opens `<think>` in
    the prompt, as GRPO's field; one for every problem, or one per problem as saved prompts say); the plain style
    like lighteval's GSM8K (`few_shot`)."""
    if prompt_style == "plain":
        if any(not isinstance(text, str) for row in completions for text in row):
            raise ValueError("--prompt_style plain grades text completions; tool rollouts are graded as boxed")
        graded = [
            [few_shot.grade_hash_answer(text, problem.answer) for text in row]
            for problem, row in zip(problems, completions)
        ]
        return [[answer for answer, _ in row] for row in graded], [[grade for _, grade in row] for row in graded]
    from open_r1.rewards.accuracy import answer_texts, extract_answer, grade_answers

    # A tool rollout (a list of messages) is graded on what the model wrote: its assistant turns, as in training.
    prefilled = [think_prefilled] * len(problems) if isinstance(think_prefilled, bool) else list(think_prefilled)
    completions = [answer_texts(samples, opened) for samples, opened in zip(completions, prefilled)]
    flat_completions, sizes = flatten(completions)
    flat_golds = [problem.answer for problem, samples in zip(problems, completions) for _ in samples]
    flat_grades = grade_answers(flat_completions, flat_golds, num_workers=num_workers, timeout=timeout)
    if len(flat_grades) != len(flat_completions):
        raise RuntimeError(f"grader returned {len(flat_grades)} grades for {len(flat_completions)} completions")
    answers = [[extract_answer(text) for text in samples] for samples in completions]
    grades = regroup(flat_grades, sizes)
    return answers, grades


def read_details(output_dir: pathlib.Path) -> list[dict] | None:
    """The rows of the details.jsonl an evaluation wrote into `output_dir`, or of its gzipped copy details.jsonl.gz
    (as docs/results keeps them); None where the folder holds neither, [] for an empty one (a run stopped as it
    began writing)."""
    for name in DETAILS_FILES:
        if (output_dir / name).is_file():
            if (output_dir / name).stat().st_size == 0:
                return []
            return [row for _, row in read_jsonl(output_dir / name, ())]
    return None


def write_details(
    path: pathlib.Path,
    problems: list[Problem],
    prompts: list[str],
    completions: list[list],
    answers: list[list[str | None]],
    grades: list[list[float | None]],
    finish_reasons: list[list[str]] | None,
) -> None:
    """details.jsonl at `path`: one line per completion, with its prompt, answer, verdict and finish reason."""
    num_samples = len(completions[0])
    with path.open("w", encoding="utf-8") as handle:
        for problem, prompt, samples, sample_answers, sample_grades, sample_reasons in zip(
            problems, prompts, completions, answers, grades, finish_reasons or [[None] * num_samples] * len(problems)
        ):
            for index, (completion, answer, grade, reason) in enumerate(
                zip(samples, sample_answers, sample_grades, sample_reasons)
            ):
                row = {
                    "id": problem.id,
                    "sample_index": index,
                    "prompt": prompt,
                    "completion": completion,
                    "extracted_answer": answer,
                    "gold": problem.answer,
                    "verdict": grade,
                    "correct": grade is not None and grade > 0,
                    "finish_reason": reason,
                }
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def clear_previous_results(output_dir: pathlib.Path) -> None:
    """Removes an earlier run's results.json before this run's details.jsonl replaces its details, saying which run
    it was: a run stopped in between leaves a details.jsonl without results, never one beside another run's results
    (as upstream and lighteval do, an output folder's earlier results are replaced, not refused)."""
    previous = output_dir / "results.json"
    if not previous.is_file():
        return
    try:
        earlier = json.loads(previous.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        earlier = None
    if isinstance(earlier, dict):
        source = (
            f"model {earlier.get('model')}" if earlier.get("model") else f"predictions {earlier.get('predictions')}"
        )
        what = f"task {earlier.get('task')}, {source}"
    else:
        what = "unreadable"
    logger.info("replacing the results of a previous run in %s (%s)", output_dir, what)
    previous.unlink()


def write_outputs(
    args: EvaluateArguments,
    problems: list[Problem],
    prompts: list[str],
    completions: list[list[str]],
    answers: list[list[str | None]],
    grades: list[list[float | None]],
    finish_reasons: list[list[str]] | None = None,
    decoding: dict | None = None,
    provenance: dict | None = None,
) -> dict:
    """Writes details.jsonl and results.json into `args.output_dir`; returns the results.

    `finish_reasons` (None for --predictions that do not give them): each completion's, in the completions' shape;
    results.json counts them, so completions cut by --max_new_tokens show without reading them. `decoding`: what
    generation decoded and how long it took (None for --predictions)."""
    output_dir = pathlib.Path(args.output_dir)
    num_samples = len(completions[0])
    verdicts = [[grade is not None and grade > 0 for grade in row] for row in grades]
    ungraded = [(p.id, j) for p, row in zip(problems, grades) for j, grade in enumerate(row) if grade is None]
    pass_ks = sorted(k for k in set(args.pass_k) if k <= num_samples)
    maj_ks = sorted(k for k in set(args.maj_k) if k <= num_samples)
    skipped = sorted(set(args.pass_k + args.maj_k) - set(pass_ks + maj_ks))
    if skipped:  # before anything is written (`prepare` refuses this of --predictions with a fix)
        raise ValueError(f"k values {skipped} exceed the {num_samples} sample(s) per problem")
    results = {
        "task": args.task,
        "data_files": args.data_files,
        "model": args.model,
        "predictions": args.predictions,
        "num_problems": len(problems),
        "num_samples": num_samples,
        **summarize_scores(verdicts, answers, pass_ks=pass_ks, maj_ks=maj_ks),
        "num_ungraded": len(ungraded),
        "finish_reasons": count_finish_reasons(finish_reasons),
        "decoding": decoding,
        "ungraded_examples": [f"{problem_id}#{index}" for problem_id, index in ungraded[:20]],
        "settings": {
            "temperature": args.temperature if args.model else None,
            "top_p": args.top_p if args.model else None,
            "max_new_tokens": args.max_new_tokens if args.model else None,
            "seed": args.seed if args.model else None,
            "system_prompt": args.system_prompt,
            "prompt_style": args.prompt_style,
            "num_fewshot": args.num_fewshot,
            "fewshot_file": args.fewshot_file,
            "fewshot_seed": args.fewshot_seed if args.num_fewshot else None,
            "stop_sequences": args.stop_sequences,
            "reward_timeout_seconds": args.reward_timeout_seconds,
            "tools": args.tools,
            "max_tool_calling_iterations": args.max_tool_calling_iterations if args.tools else None,
            "compile_decoding": args.compile_decoding,
            "tool_rollout_chunk_tokens": args.tool_rollout_chunk_tokens if args.tools else None,
        },
        **(provenance or {}),  # when, at which commit, on which machine (`open_r1.utils.provenance`)
    }
    # The earlier run's results go first, this run's details next, its results last: a run stopped on the way leaves
    # a folder of one run (details without results at worst), never its details beside another run's results.
    output_dir.mkdir(parents=True, exist_ok=True)
    clear_previous_results(output_dir)
    partial = output_dir / "details.jsonl.partial"
    try:
        write_details(partial, problems, prompts, completions, answers, grades, finish_reasons)
        os.replace(partial, output_dir / "details.jsonl")
    finally:
        partial.unlink(missing_ok=True)
    save_results(output_dir / "results.json", results, quiet=True)
    logger.info("wrote %s and details.jsonl beside it", output_dir / "results.json")
    return results


@dataclass
class Prepared:
    """What an evaluation reads before any model loads: the problems to grade, the chats asking them, and with
    --predictions the saved completions (`open_r1.data.benchmarks.Predictions`)."""

    problems: list[Problem]
    conversations: list[list]
    predictions: Predictions | None = None


def prepare(args: EvaluateArguments) -> Prepared:
    """Reads and checks everything an evaluation needs short of the model's weights: the benchmark file, the shots,
    the predictions (their count against --num_samples and the k values), and with --model that every prompt fits
    its context. Each mistake is one `UsageError` naming its file and line (or problem); `--dry_run` stops here."""
    try:  # the files' contents: each mistake names its file and line, in one line before the model loads
        all_problems = load_problems(args.data_files)
        problems = all_problems[: args.limit] if args.limit is not None else all_problems
        conversations = build_conversations(args, problems, all_problems)
        predictions = None
        if args.predictions is not None:
            left_out = {problem.id for problem in all_problems[len(problems) :]}
            predictions = load_predictions(args.predictions, problems, left_out, FINISH_REASONS)
    except ValueError as error:
        raise UsageError(one_line(error)) from error
    if predictions is not None:
        check_prediction_count(args, len(predictions.completions[0]))
    else:
        check_prompts_fit(args.model, problems, conversations)
    return Prepared(problems, conversations, predictions)


def check_prediction_count(args: EvaluateArguments, count: int) -> None:
    """--predictions' completions per problem (`count`) against --num_samples and the k values: a k above it
    failed once the new details.jsonl was written (advising --num_samples, which sets no count here)."""
    if args.num_samples is not None and count != args.num_samples:
        raise UsageError(
            f"--predictions {args.predictions} has {count} completions per problem, but --num_samples is "
            f"{args.num_samples}"
        )
    too_many = sorted({k for k in (*args.pass_k, *args.maj_k) if k > count})
    if too_many:
        raise UsageError(
            f"--pass_k/--maj_k {too_many} exceed the {count} completion(s) per problem of --predictions "
            f"{args.predictions}; use k values up to {count}"
        )


def check_prompts_fit(model: str, problems: list[Problem], conversations: list[list]) -> None:
    """Every prompt, after `model`'s chat template, leaves room to generate within its context: read from the
    tokenizer and config before the weights load (a ValueError that named no problem came after). With --tools the
    prompt also holds the tool's description, so this is the least it is."""
    from transformers import AutoConfig, AutoTokenizer

    from open_r1.utils.model_utils import model_context

    tokenizer = AutoTokenizer.from_pretrained(model)
    context = model_context(AutoConfig.from_pretrained(model))
    if context is None or tokenizer.chat_template is None:  # sampling says so of a missing template
        return
    prompts = [
        tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        for messages in conversations
    ]
    # verbose=False: no warning from transformers that a prompt is longer than the model's, which the error says.
    lengths = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False, verbose=False)["input_ids"]]
    too_long = [(problem.id, length) for problem, length in zip(problems, lengths) if length >= context]
    if too_long:
        (first, length), others = too_long[0], len(too_long) - 1
        raise UsageError(
            f"problem {first!r} is {length} tokens as a prompt, and the context of --model {model} is {context}: no "
            f"room to generate"
            + (f" ({others} more problem(s) too)" if others else "")
            + "; leave it out of --data_files, or use --limit, a shorter --system_prompt, fewer shots, or a model "
            "with a longer context"
        )


def prompt_prefills_think(prompt: str | None) -> bool:
    """Whether a saved prompt (a details.jsonl row's, as the chat template rendered it) ends by opening `<think>`,
    as `model_prefills_think` decides of a model: its completions are graded as they were when made."""
    return prompt is not None and prompt.rstrip().endswith("<think>")


def evaluate(args: EvaluateArguments, on_progress: Callable[..., None] | None = None) -> dict:
    """Runs one offline evaluation end to end and returns the contents of results.json.

    `on_progress(done, total)` follows generation, with the tool round as a third argument where the model calls
    tools (None with rows joining; see `open_r1.eval.decoding.sample_completions`)."""
    provenance = provenance_record()
    prepared = prepare(args)
    problems, conversations, predictions = prepared.problems, prepared.conversations, prepared.predictions
    if predictions is not None:
        completions, finish_reasons = predictions.completions, predictions.finish_reasons
        # The prompt the completions were made from where the file keeps it (a details.jsonl), else the user turn.
        prompts = [
            saved if saved is not None else conversation[-1]["content"]
            for saved, conversation in zip(predictions.prompts, conversations)
        ]
        think_prefilled = [prompt_prefills_think(saved) for saved in predictions.prompts]
        decoding = None
    else:
        if args.tools:
            check_tool_calling_template(args.model)
        started, tally = time.perf_counter(), DecodingTally()
        reset_gpu_memory_peak()  # an earlier evaluation in this process (one after another on a GPU) is not this one
        prompts, completions, finish_reasons = generate_completions(
            args, problems, on_progress, conversations, decoding=tally
        )
        # The generation's time beyond the generate calls (`seconds`): loading the model and tokenizer, chat
        # templates, tool calls, reading replies.
        decoding = {
            **tally.as_dict(),
            "generation_seconds": time.perf_counter() - started,
            "gpu_memory_reserved_peak_gib": gpu_memory_reserved_peak_gib(),
        }
        logger.info(
            "generation took %.1f s, its generate calls %.1f s (the rest: loading the model, chat templates, tool "
            "calls)",
            decoding["generation_seconds"],
            decoding["seconds"],
        )
        think_prefilled = model_prefills_think(args.model)
    answers, grades = grade_completions(
        problems,
        completions,
        args.reward_num_workers,
        args.reward_timeout_seconds,
        args.prompt_style,
        think_prefilled=think_prefilled,
    )
    return write_outputs(
        args, problems, prompts, completions, answers, grades, finish_reasons, decoding, with_end_load(provenance)
    )


def check_tool_calling_template(model: str) -> None:
    """--tools needs a chat template that renders tool calls and whose calls can be parsed: read from the tokenizer
    before the model loads (a model without one failed once loaded, in a traceback that named a recipe field)."""
    import os

    from transformers import AutoTokenizer

    from open_r1.tasks.tiny_model import TINY_MODEL_SPEC_FILE
    from open_r1.tools.chat import check_tool_template, ensure_tool_parsing

    tokenizer = AutoTokenizer.from_pretrained(model)
    fix = "evaluate a model trained with tools: [python] (its saved tokenizer carries its template)"
    if os.path.isfile(os.path.join(model, TINY_MODEL_SPEC_FILE)):
        fix += ", e.g. the tiny tool-calling model: python scripts/make_tiny_model.py --tool_calling true --output_dir DIR"
    try:
        check_tool_template(tokenizer)
    except ValueError:
        raise UsageError(
            f"--tools: the chat template of {model} does not render tool calls and results; {fix}"
        ) from None
    try:
        ensure_tool_parsing(tokenizer)
    except ValueError:
        raise UsageError(
            f"--tools: the tool-call syntax of {model}'s chat template is not one TRL can parse; {fix}"
        ) from None


def model_prefills_think(model: str) -> bool:
    """Whether the model's chat template opens `<think>` in the prompt: its completions start inside the reasoning,
    graded as GRPO grades them with `think_prefilled: true`."""
    from transformers import AutoTokenizer

    from open_r1.utils.chat_templates import prefills_think, template_text

    tokenizer = AutoTokenizer.from_pretrained(model)
    return bool(template_text(tokenizer)) and prefills_think(tokenizer)


def gpu_memory_reserved_peak_gib() -> float | None:
    """The most GPU memory PyTorch's allocator has reserved in this process since `reset_gpu_memory_peak`, in GiB
    (an evaluation beside a training on one GPU: what it left the training); None where CUDA was not used."""
    import torch

    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return torch.cuda.max_memory_reserved() / 2**30


def reset_gpu_memory_peak() -> None:
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.reset_peak_memory_stats()


def count_finish_reasons(finish_reasons: list[list[str]] | None) -> dict[str, int] | None:
    """How many completions ended for each reason (every reason listed, zeros included); None when unknown. Logs
    (at info level: a base model that never stops is expected) how many ran out of tokens, the usual cause of a
    completion without an answer."""
    if finish_reasons is None:
        return None
    counts = Counter(reason for row in finish_reasons for reason in row)
    unknown = set(counts) - set(FINISH_REASONS)
    if unknown:
        raise ValueError(f"unknown finish reasons {sorted(unknown)}; expected one of {FINISH_REASONS}")
    if counts["length"]:
        total = sum(counts.values())
        logger.info(
            "%d of %d completions ran out of their token budget (--max_new_tokens, or what the model's context left) "
            "before they ended",
            counts["length"],
            total,
        )
    return {reason: counts[reason] for reason in FINISH_REASONS}


def _is_bool(word: str) -> bool:
    """Whether `word` is a boolean as the parser reads one (`--dry_run yes`)."""
    try:
        as_bool(word)
    except ValueError:
        return False
    return True


def main(argv: list[str] | None = None) -> dict:
    args = parse_command_line(argv)
    if args.dry_run:  # the files' checks too (all but loading the model), then what would run, as the shell reads it
        prepare(args)
        given = list(argv if argv is not None else sys.argv[1:])
        shown = [
            argument
            for index, argument in enumerate(given)
            if argument.split("=")[0] not in ("--dry_run", "--dry-run")
            and not (index and given[index - 1] in ("--dry_run", "--dry-run") and _is_bool(argument))
        ]
        print(shlex.join(["python", "-m", "open_r1.evaluate", *shown]), flush=True)
        return {}
    configure_logging()
    if resolved_device(args.device) == "cpu":  # "auto" on a machine without a GPU too (the README's command)
        import torch

        from open_r1.utils.launch import cores_for_launches

        # As launches do: a thread waiting on a core another program keeps busy costs tens of times what it gives.
        torch.set_num_threads(cores_for_launches())
    results = evaluate(args)
    summary = {key: value for key, value in results.items() if "@" in key or key.startswith("num_")}
    print(json.dumps({"task": results["task"], **summary, "finish_reasons": results["finish_reasons"]}, indent=2))
    return results


# What Ctrl-C leaves: nothing of the unfinished run (resuming one is not supported).
INTERRUPTED = (
    "an evaluation writes details.jsonl and results.json only once every completion is graded (stopped while writing "
    "them, the folder may hold this run's details.jsonl without its results.json); run it again to start over"
)

if __name__ == "__main__":
    from open_r1.usage import exit_on_interrupt, exit_on_usage_error

    with exit_on_interrupt(INTERRUPTED), exit_on_usage_error("open_r1.evaluate"):
        main(sys.argv[1:])
