"""Generates completions for a dataset with a distilabel pipeline and an OpenAI-compatible server.

Upstream open-r1's `src/open_r1/generate.py`, same flags: a `TextGeneration` step whose LLM is
distilabel's `OpenAILLM` pointed at a vLLM server (`--vllm-server-url`), `--num-generations`
completions per prompt grouped in one `generation` list, `--client-replicas` copies of the step.
The result is pushed to `--hf-output-dataset`; for offline use, `--hf-dataset` also takes a local
file or folder and `--output-file` / `--output-dir` write the result locally.

    python src/open_r1/generate.py --hf-dataset AI-MO/NuminaMath-TIR --prompt-column problem \
        --model deepseek-ai/DeepSeek-R1-Distill-Qwen-7B --vllm-server-url http://localhost:8000/v1 \
        --num-generations 4 --hf-output-dataset my-org/numina-r1
    # offline, against any OpenAI-compatible server
    python src/open_r1/generate.py --hf-dataset data/problems.jsonl --prompt-column problem \
        --model my-model --vllm-server-url http://127.0.0.1:8000/v1 --output-file data/generated.jsonl

`--ray` runs the pipeline on a Ray cluster (as upstream does on Slurm, see slurm/generate.slurm). `--dry-run` checks
the command and the dataset and stops before the server is asked.
Not covered: resuming a killed run (use scripts/generate_reasoning.py for that), and servers
that ignore `n` > 1 with `--num-generations` > 1 (e.g. `transformers serve`): such a run fails
with a message instead of keeping fewer generations than asked.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import logging
import pathlib
import warnings
from typing import TYPE_CHECKING

from open_r1.data.loading import check_prompts, load_dataset_reference
from open_r1.hub_access import Push, check_references
from open_r1.usage import ArgumentParser, UsageError, did_you_mean, exit_on_usage_error
from open_r1.utils.generation_server import DEFAULT_BASE_URL, check_server_answers, server_api_key
from open_r1.utils.logs import configure_logging

if TYPE_CHECKING:
    from distilabel.pipeline import Pipeline

logger = logging.getLogger(__name__)


def _import_distilabel():
    """distilabel's pipeline pieces, imported when a pipeline is built rather than for `--help` or a bad argument.

    Importing distilabel defines pydantic models of its own (LlamaCppEmbeddings, OpenAIImageGeneration, DBSCAN, ...)
    that put `Field(default=None)` inside a union, which pydantic 2.12+ reports with one
    UnsupportedFieldAttributeWarning each; this script uses none of those models, so exactly that warning is
    ignored during the import.
    """
    from pydantic.warnings import UnsupportedFieldAttributeWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UnsupportedFieldAttributeWarning)
        from distilabel.models import OpenAILLM
        from distilabel.pipeline import Pipeline
        from distilabel.steps import StepResources
        from distilabel.steps.tasks import TextGeneration
    return OpenAILLM, Pipeline, StepResources, TextGeneration


def build_distilabel_pipeline(
    model: str,
    base_url: str = DEFAULT_BASE_URL,
    prompt_column: str | None = None,
    prompt_template: str = "{{ instruction }}",
    temperature: float | None = None,
    top_p: float | None = None,
    max_new_tokens: int = 8192,
    num_generations: int = 1,
    input_batch_size: int = 64,
    client_replicas: int = 1,
    timeout: int = 900,
    retries: int = 0,
    use_ray: bool = False,
) -> Pipeline:
    """A one-step pipeline: `TextGeneration` over an OpenAI-compatible server."""
    OpenAILLM, Pipeline, StepResources, TextGeneration = _import_distilabel()
    generation_kwargs = {"max_new_tokens": max_new_tokens}
    if temperature is not None:
        generation_kwargs["temperature"] = temperature
    if top_p is not None:
        generation_kwargs["top_p"] = top_p
    # With use_ray the Ray pipeline is the one built and returned: its steps run on the cluster.
    pipeline = Pipeline().ray() if use_ray else Pipeline()
    with pipeline:
        TextGeneration(
            llm=OpenAILLM(
                base_url=base_url,
                api_key=server_api_key(),
                model=model,
                timeout=timeout,
                max_retries=retries,
                generation_kwargs=generation_kwargs,
            ),
            template=prompt_template,
            input_mappings={"instruction": prompt_column} if prompt_column is not None else {},
            input_batch_size=input_batch_size,
            num_generations=num_generations,
            group_generations=True,
            resources=StepResources(replicas=client_replicas),
        )
    return pipeline


# The command line's defaults are the pipeline's own.
PIPELINE_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(build_distilabel_pipeline).parameters.items()
    if parameter.default is not inspect.Parameter.empty
}


def prompt_template_problem(template: str) -> str | None:
    """Why `template` cannot make prompts, or None: `TextGeneration` fills `instruction` only, so a template
    without it sends the same text for every row and any other name renders as nothing."""
    import jinja2
    import jinja2.meta

    try:
        names = jinja2.meta.find_undeclared_variables(jinja2.Environment().parse(template))
    except jinja2.TemplateSyntaxError as error:
        return f"line {error.lineno}: {error.message}"
    if "instruction" not in names:
        return "it never uses {{ instruction }}, the --prompt-column value, so every row would get the same prompt"
    if names != {"instruction"}:
        return f"it uses {sorted(names - {'instruction'})}, which nothing fills; only {{{{ instruction }}}} is"
    return None


def parse_args(argv=None) -> argparse.Namespace:
    parser = ArgumentParser(
        usage="%(prog)s --hf-dataset DATASET --model MODEL [--OPTION VALUE ...]", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--hf-dataset", required=True, help="Hub dataset id, local data file or dataset folder.")
    parser.add_argument("--hf-dataset-config", default=None, help="Dataset configuration (Hub datasets only).")
    parser.add_argument("--hf-dataset-split", default="train", help="Split to read prompts from.")
    parser.add_argument("--prompt-column", default="prompt", help="Column whose value fills the template.")
    parser.add_argument(
        "--prompt-template",
        default=PIPELINE_DEFAULTS["prompt_template"],
        help="Jinja template of the prompt; `{{ instruction }}` stands for the --prompt-column value.",
    )
    parser.add_argument("--model", required=True, help="Model name served by the server.")
    parser.add_argument(
        "--vllm-server-url", default=PIPELINE_DEFAULTS["base_url"], help="OpenAI-compatible API base URL."
    )
    parser.add_argument(
        "--temperature", type=float, default=None, help="Sampling temperature (the server's if unset)."
    )
    parser.add_argument("--top-p", type=float, default=None, help="Nucleus sampling top_p (the server's if unset).")
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        default=PIPELINE_DEFAULTS["max_new_tokens"],
        help="Tokens per completion at most.",
    )
    parser.add_argument(
        "--num-generations", type=int, default=PIPELINE_DEFAULTS["num_generations"], help="Completions per prompt."
    )
    parser.add_argument(
        "--input-batch-size", type=int, default=PIPELINE_DEFAULTS["input_batch_size"], help="Prompts per batch sent."
    )
    parser.add_argument(
        "--client-replicas",
        type=int,
        default=PIPELINE_DEFAULTS["client_replicas"],
        help="Copies of the generation step.",
    )
    parser.add_argument("--timeout", type=int, default=PIPELINE_DEFAULTS["timeout"], help="Seconds per request.")
    parser.add_argument(
        "--retries", type=int, default=PIPELINE_DEFAULTS["retries"], help="Retries of a failed request."
    )
    parser.add_argument("--hf-output-dataset", default=None, help="Hub id to push the result to.")
    parser.add_argument("--private", action="store_true", help="Make the pushed dataset private.")
    parser.add_argument("--output-file", default=None, help="Write the result here as JSONL (offline).")
    parser.add_argument("--output-dir", default=None, help="Save the distiset here with save_to_disk (offline).")
    parser.add_argument("--ray", action="store_true", help="Run on a Ray cluster (slurm/generate.slurm).")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="Check the arguments, the dataset and its prompt column, print what would run, and stop: no server is "
        "asked, no pipeline started (slurm/generate.slurm runs it before it starts vLLM).",
    )
    args = parser.parse_args(argv)
    for name in ("num_generations", "input_batch_size", "client_replicas", "max_new_tokens", "timeout"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.retries < 0:
        parser.error(f"--retries must be 0 or more, got {args.retries}")
    if args.temperature is not None and args.temperature < 0:
        parser.error(f"--temperature must be >= 0, got {args.temperature:g}")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        parser.error(f"--top-p must be in (0, 1], got {args.top_p:g}")
    if args.ray and importlib.util.find_spec("ray") is None:
        parser.error("--ray runs the pipeline on a Ray cluster, and the ray package is not installed here")
    problem = prompt_template_problem(args.prompt_template)
    if problem:
        parser.error(f"--prompt-template {args.prompt_template!r}: {problem}")
    if not (args.hf_output_dataset or args.output_file or args.output_dir):
        parser.error("nothing would keep the result: give --output-file, --output-dir or --hf-output-dataset")
    return args


def main(argv=None):
    args = parse_args(argv)
    configure_logging()
    push = None
    if args.hf_output_dataset:
        push = Push("--hf-output-dataset pushes the result", "give --output-file or --output-dir instead")
    check_references([("--hf-dataset", args.hf_dataset, "dataset")], push)
    dataset = load_dataset_reference(
        args.hf_dataset, args.hf_dataset_config, args.hf_dataset_split, config_field="hf_dataset_config"
    )
    if args.prompt_column not in dataset.column_names:
        from open_r1.startup_checks import PROMPT_COLUMNS

        columns = dataset.column_names
        hint = did_you_mean(args.prompt_column, columns, "--prompt-column ") or next(
            (f" (did you mean --prompt-column {name}?)" for name in PROMPT_COLUMNS if name in columns), ""
        )
        raise UsageError(
            f"--prompt-column {args.prompt_column!r} is not a column of {args.hf_dataset!r}; its columns: {columns}"
            + hint
        )
    check_prompts(dataset[args.prompt_column], args.prompt_column)  # else distilabel fails the batch, nothing kept
    if args.dry_run:
        print(
            f"checked: {len(dataset)} prompts of {args.hf_dataset} (column {args.prompt_column!r}); would generate "
            f"{len(dataset)} x {args.num_generations} completions with {args.model} at {args.vllm_server_url}",
            flush=True,
        )
        return None
    check_server_answers(args.vllm_server_url, "--vllm-server-url", model=args.model, api_key=server_api_key())
    logger.info("Generating %d x %d completions with %s", len(dataset), args.num_generations, args.model)
    pipeline = build_distilabel_pipeline(
        model=args.model,
        base_url=args.vllm_server_url,
        prompt_column=args.prompt_column,
        prompt_template=args.prompt_template,
        temperature=args.temperature,
        top_p=args.top_p,
        max_new_tokens=args.max_new_tokens,
        num_generations=args.num_generations,
        input_batch_size=args.input_batch_size,
        client_replicas=args.client_replicas,
        timeout=args.timeout,
        retries=args.retries,
        use_ray=args.ray,
    )
    distiset = pipeline.run(dataset=dataset, dataset_batch_size=args.input_batch_size * 1000, use_cache=False)
    configure_logging(force=True)  # distilabel closed the queue its log handlers used
    result = distiset["default"]["train"]
    if len(result) != len(dataset):
        raise RuntimeError(f"the pipeline returned {len(result)} rows for {len(dataset)} prompts")
    short = [
        i
        for i, generations in enumerate(result["generation"])
        if generations is None or sum(text is not None for text in generations) != args.num_generations
    ]
    if short:  # distilabel logs a failed request and keeps None in its place
        raise RuntimeError(
            f"{len(short)} rows (first: {short[0]}) got fewer than {args.num_generations} generations: requests "
            "failed (distilabel's warnings above say why) or the server ignores `n` > 1 (e.g. transformers serve; "
            "use --num-generations 1 or vLLM)"
        )
    if args.output_file:
        path = pathlib.Path(args.output_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as file:
            for row in result:
                file.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        logger.info("Wrote %d rows to %s", len(result), path)
    if args.output_dir:
        distiset.save_to_disk(args.output_dir)
    if args.hf_output_dataset:
        logger.info("Pushing the result to %s", args.hf_output_dataset)
        distiset.push_to_hub(args.hf_output_dataset, private=args.private)
    return result


if __name__ == "__main__":
    with exit_on_usage_error():
        main()
