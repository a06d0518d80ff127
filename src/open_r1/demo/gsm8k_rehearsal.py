"""Rehearses a `make gsm8k` run on one GPU at the times the H100 leases measured, in seconds on any machine, to say
whether a plan fits a GPU lease before a lease is spent on it.

    python -m open_r1.demo.gsm8k_rehearsal --arm tools --time_budget_minutes 11 --reuse_sft
    python -m open_r1.demo.gsm8k_rehearsal --arm both --time_budget_minutes 26
    python -m open_r1.demo.gsm8k_rehearsal --arm tools --sft_only     # scripts/gsm8k.py --sft_only --evaluate
    python -m open_r1.demo.gsm8k_rehearsal --arm tools --reuse_sft --time_budget_minutes 11 --grpo_step_seconds tools=35

The run's own scheduling code runs (`open_r1.demo.gsm8k.run_arm` for each arm, at once in threads as the run's
processes are: its stages in order, the SFT model's evaluations beside GRPO, the GRPO evaluations once both have
ended; the GPU job slots of `open_r1.utils.gpu_jobs`, the tool arm's jobs first; the time budget's
`grpo_minutes`), with the datasets' building, each training launch and evaluation replaced by a wait as long as
the leases measured it (`LEASE_SECONDS`, docs/gsm8k.md), a second of the GPU's a 60th of a second here, a GRPO run's
first generation longer than the others. GRPO steps as
`open_r1.utils.time_limit.RunTimeLimit` lets it under `max_run_minutes` (the callback itself, on the rehearsal's
clock), each step as long as a generating or a reusing one, as the recipe's `steps_per_generation` orders them. The
base and card evaluations are taken from an earlier run, as every lease plan takes them (`--reuse_base`);
`--reuse_sft` takes the SFT evaluations so too.
Prints when each job started and ended, GRPO's steps and the run's minutes, and whether they and a lease's start
and install (`LEASE_SETUP_SECONDS`) fit a lease of `--lease_minutes`.
Not covered: how jobs at once slow each other on the GPU (each takes the time it took alone, or as the leases ran
it: an optimistic estimate), memory, a GPU other than the leases' H100.
"""

import argparse
import contextlib
import dataclasses
import json
import math
import pathlib
import tempfile
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor

from transformers import TrainerControl, TrainerState

from open_r1.demo import gsm8k, gsm8k_launch, pipeline
from open_r1.demo.gsm8k_cli import check_run_numbers, check_sft_only
from open_r1.demo.settings import GSM8K_FULL
from open_r1.usage import ArgumentParser, exit_on_usage_error, read_recipe
from open_r1.utils.gpu_jobs import JobSlots
from open_r1.utils.results_docs import add_results_options, report_results, write_results_table
from open_r1.utils.time_limit import RunTimeLimit


@dataclasses.dataclass(frozen=True)
class LeaseSeconds:
    """Seconds of the H100 leases (docs/gsm8k.md, "On one H100"): those of 2026-11-24 unless said."""

    # Both arms' SFT, at once on lease 2.
    sft: dict = dataclasses.field(default_factory=lambda: {"cot": 134.0, "tools": 198.0})
    # A GRPO step that generates the recipes' 256 rows. Chain of thought: 14.6 s and 13.8 s on average after the first
    # on the leases of 2026-11-27. Tool arm: 390 s for 5 steps of 128 rows on lease 2, both arms at once, taken for
    # 256 rows too: decoding is bound by the host's dispatching (docs/gsm8k.md; lease 2's chain-of-thought steps of
    # 128 rows took 14.4 s).
    grpo_step: dict = dataclasses.field(default_factory=lambda: {"cot": 14.2, "tools": 78.0})
    # What a GRPO run's first generating step takes beyond the later ones (warm-up, the evaluation starting beside
    # it): on the chain-of-thought leases of 2026-11-27, 31 s against 14.6 s and 44.6 s against 13.8 s. The tool arm's
    # is taken to be the same (not measured apart).
    grpo_first_step_extra: float = 24.0
    # A generating chain-of-thought step under --compile_generation: 5.8 s on average after the first in the `cot`
    # plan's compiled run (third lease of 2026-11-27; 8 to 11 s while the SFT evaluations shared the GPU, then 4 to 6).
    # The tool arm's is not measured.
    grpo_compiled_step: dict = dataclasses.field(default_factory=lambda: {"cot": 5.8})
    # What compiling adds to a compiled run's first step, beyond grpo_first_step_extra: that run's first step took
    # 44.7 s, 38.9 s more than the later ones.
    grpo_compile_extra: float = 15.0
    # A GRPO step that trains on an earlier step's generation (steps_per_generation): the training share of a tool-arm
    # step on the lease of 2026-11-26 (0.66 s; the chain of thought's shorter rows train in less).
    grpo_reuse_step: float = 0.7
    # From the run's start (its time budget's) to its first launch: the model checked, GSM8K's datasets built; on the
    # lease of 2026-11-27 SFT loaded its dataset 41 s after the run started (its run.log and cot.log, in
    # docs/results/gsm8k-h100-2026-11-27-cot-2), of which `launch_start` is taken for 20.
    data_prep: float = 20.0
    # A training launch's start-up before its first step, and its save and exit after the last (not measured apart).
    launch_start: float = 20.0
    launch_end: float = 10.0
    # Each evaluation of all 1,319 problems alone. Tool arm: greedy and sampled at once took 291 s (the sampled
    # one's), one after the other 424 s. Chain of thought: 78 s (GRPO) and 126 s (SFT, beside GRPO) for both.
    evaluation: dict = dataclasses.field(
        default_factory=lambda: {
            "cot": {"greedy": 40.0, "sampled": 60.0},
            "tools": {"greedy": 133.0, "sampled": 291.0},
        }
    )


LEASE_SECONDS = LeaseSeconds()
# A lease's start (35 s; 166 s on the fourth lease of 2026-11-27, for which `gpu_lease.sh start PLAN LEFT AT` now
# cuts the plan to fit) and the offline bundle's unpack, install and the model's dequantisation (107 s).
LEASE_SETUP_SECONDS = 142.0
# The launch options that set how many optimizer steps GRPO trains on each generation.
SCHEDULE_OPTIONS = ("--steps_per_generation", "--gradient_accumulation_steps", "--num_iterations")
# Seconds here per second of the GPU's.
SCALE = 1 / 60
# The earlier run whose base, card and SFT evaluations the rehearsal takes, as `--reuse_base` and `--reuse_sft` do.
EARLIER_RUN = pipeline.REPO_ROOT / "docs" / "results" / "gsm8k-h100-2026-11-24"


# scripts/gpu_lease.sh's plans that run make gsm8k, whose rehearsals docs/gpu.md tables (`--plans`).
GSM8K_LEASE_PLANS = ("cot", "cot-lr", "cot-calc3", "cot-gen16", "tools-sft", "tools")
PLANS_PAGE = pipeline.REPO_ROOT / "docs" / "gpu.md"
PLANS_BEGIN, PLANS_END = "<!-- gsm8k_rehearsal.py plans: begin -->", "<!-- gsm8k_rehearsal.py plans: end -->"


def plan_command(plan: str) -> list[str]:
    """The words of a gpu_lease.sh plan's scripts/gsm8k.py command, as the script's dry run prints it."""
    import subprocess

    printed = subprocess.run(
        ["bash", "scripts/gpu_lease.sh", "start", plan],
        cwd=pipeline.REPO_ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "GPU_LEASE_DRY_RUN": "1"},
        check=True,
    ).stdout
    # Its make gsm8k line, not the decode step's that a failed run leaves the rest of the lease to.
    line = next(line for line in printed.splitlines() if "scripts/gsm8k.py" in line)
    return line.split("scripts/gsm8k.py", 1)[1].split()


def plan_options(words: list[str]) -> dict:
    """`rehearse`'s arguments for a scripts/gsm8k.py command's `words` (its options)."""
    value = {word: words[index + 1] for index, word in enumerate(words[:-1]) if word.startswith("--")}
    return {
        "arms": gsm8k.ARMS if value.get("--arm", "both") == "both" else (value["--arm"],),
        "time_budget_minutes": float(value["--time_budget_minutes"]) if "--time_budget_minutes" in value else None,
        "grpo_max_steps": int(value["--grpo_max_steps"]) if "--grpo_max_steps" in value else None,
        "reuse_sft": "--reuse_sft" in words,
        "sft_only": "--sft_only" in words,
        "compile_generation": "--compile_generation" in words,
    }


def shown_options(words: list[str]) -> str:
    """A command's options without the files, which are the lease's: what tells one plan from another."""
    files = {"--train_file", "--test_file", "--reuse_base", "--reuse_sft"}
    kept = [
        word for index, word in enumerate(words) if word not in files and (index == 0 or words[index - 1] not in files)
    ]
    return " ".join(kept + (["--reuse_sft <a tools-sft lease>"] if "--reuse_sft" in words else []))


def rehearse_plans(plans: tuple[str, ...], scale: float = SCALE) -> dict:
    """Each plan rehearsed at the leases' times: its options, run seconds, GRPO steps, with the provenance."""
    from open_r1.utils.provenance import provenance_record

    rows = []
    for plan in plans:
        words = plan_command(plan)
        result = rehearse(**plan_options(words), scale=scale)
        rows.append(
            {
                "plan": plan,
                "options": shown_options(words),
                "seconds": result["seconds"],
                "grpo_steps": result["grpo_steps"],
            }
        )
    return {
        "benchmark": "gsm8k_rehearsal",
        **provenance_record(),
        "lease_seconds": dataclasses.asdict(LEASE_SECONDS),
        "lease_setup_seconds": LEASE_SETUP_SECONDS,
        "plans": rows,
    }


def plans_section(entries: list[tuple[dict, pathlib.Path]], lease_minutes: float = 15.0) -> str:
    """docs/gpu.md's table of the rehearsed plans, from `rehearse_plans`' results files."""
    from open_r1.utils.results_docs import markdown_table, results_cell

    rows = []
    for results, path in entries:
        for plan in results["plans"]:
            with_setup = (plan["seconds"] + results["lease_setup_seconds"]) / 60
            steps = ", ".join(f"{arm} {count}" for arm, count in plan["grpo_steps"].items()) or "none (SFT only)"
            rows.append([
                f"`{plan['plan']}`", f"`{plan['options']}`", f"{plan['seconds'] / 60:.1f}", steps,
                f"{with_setup:.1f}: {'fits' if with_setup <= lease_minutes else 'does not fit'}",
                f"{results['date'][:10]}, {results['commit'] or 'no commit'}", results_cell(path),
            ])  # fmt: skip
    header = ["plan", "scripts/gsm8k.py options", "run, min", "GRPO steps",
              f"with the lease's start and install, min (of {lease_minutes:g})", "rehearsed", "results"]  # fmt: skip
    return markdown_table(header, rows)


class Rehearsal:
    """Stand-ins for a run's training launches and evaluations that wait as the leases took, on a clock that counts
    the GPU's seconds (`now`), and the timeline of what ran."""

    def __init__(self, times: LeaseSeconds, scale: float, output_dir: pathlib.Path):
        self.times, self.scale, self.output_dir = times, scale, str(output_dir)  # output_dir: the callback's
        self.started = time.time()
        self.timeline, self.grpo_steps = [], {}
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch on the rehearsal's clock: the GPU's seconds since the rehearsal started."""
        return self.started + (time.time() - self.started) / self.scale

    def _wait(self, name: str, seconds: float) -> None:
        begin = self.now()
        time.sleep(seconds * self.scale)
        with self._lock:
            self.timeline.append((name, begin - self.started, self.now() - self.started))

    def train(self, script, recipe, model, dataset, output_dir, seed, log_file, *overrides, cpu):
        arm = "tools" if output_dir.name.endswith("tools") else "cot"
        if script == "sft.py":
            self._wait(output_dir.name, self.times.launch_start + self.times.sft[arm] + self.times.launch_end)
            return 0.0
        option = dict(zip(overrides[::2], overrides[1::2]))
        fields = read_recipe(str(pipeline.REPO_ROOT / recipe))
        max_steps = int(option.get("--max_steps", fields["max_steps"]))
        fields.update({name[2:]: int(option[name]) for name in SCHEDULE_OPTIONS if name in option})
        compiled = option.get("--compile_generation") == "true"
        minutes = float(option.get("--max_run_minutes", math.inf))
        steps = self.grpo_steps_within(arm, fields, max_steps, minutes, compiled)
        elapsed = self.times.launch_start + sum(
            self.grpo_step_seconds(arm, generates, step == 0, compiled) for step, generates in enumerate(steps)
        )
        self.grpo_steps[arm] = len(steps)
        self._wait(f"{output_dir.name} ({len(steps)} steps)", elapsed + self.times.launch_end)
        output_dir.mkdir(parents=True, exist_ok=True)
        state = {"global_step": len(steps), "max_steps": max_steps, "log_history": []}
        (output_dir / "trainer_state.json").write_text(json.dumps(state), encoding="utf-8")
        return 0.0

    def grpo_step_seconds(self, arm: str, generates: bool, first: bool = False, compiled: bool = False) -> float:
        """A GRPO step's lease time: one that generates (the run's `first`, more; `compiled`: under
        --compile_generation), or one that trains on an earlier step's generation."""
        if not generates:
            return self.times.grpo_reuse_step
        if compiled:
            extra = self.times.grpo_first_step_extra + self.times.grpo_compile_extra
            return self.times.grpo_compiled_step[arm] + (extra if first else 0.0)
        return self.times.grpo_step[arm] + (self.times.grpo_first_step_extra if first else 0.0)

    def grpo_steps_within(
        self, arm: str, recipe: dict, max_steps: int, minutes: float, compiled: bool = False
    ) -> list[bool]:
        """The steps GRPO trains under `max_run_minutes` (each: whether it generates), as the run's own
        `RunTimeLimit` stops it, on a clock that moves on by the steps' lease times."""
        args = types.SimpleNamespace(
            output_dir=self.output_dir, save_strategy="no", device="cpu",
            steps_per_generation=recipe.get("steps_per_generation"), num_iterations=recipe.get("num_iterations", 1),
            gradient_accumulation_steps=recipe.get("gradient_accumulation_steps", 1),
        )  # fmt: skip
        clock = [self.times.launch_start, 0.0]  # the time now, and the last step's seconds
        limit = RunTimeLimit(minutes, started=0.0, clock=lambda: clock[0])
        # What GRPO's step profile hands the limit: a generating step's rollouts, all of it but a reusing step's time.
        limit.last_rollout_seconds = lambda: clock[1] - self.times.grpo_reuse_step
        state, control, steps = TrainerState(max_steps=max_steps), TrainerControl(), []
        limit.on_train_begin(args, state, control)
        while state.global_step < max_steps and not control.should_training_stop:
            steps.append(limit.generates(state.global_step + 1, args))
            clock[1] = self.grpo_step_seconds(arm, steps[-1], len(steps) == 1, compiled)
            clock[0] += clock[1]
            state.global_step += 1
            limit.on_step_end(args, state, control)
        return steps

    def evaluate(self, model, task, data_file, output_dir, **settings):
        stage, arm, kind = output_dir.name.split("-")
        self._wait(output_dir.name, self.times.evaluation[arm][kind])
        return {"pass@1": 0.0, "pass@1_stderr": 0.0, "num_samples": settings["num_samples"]}, []


def in_threads(jobs: dict, log_dir) -> dict:
    """`run_at_once` in threads, so that the stand-ins apply in every job."""
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(function, *args) for name, (function, args) in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


@contextlib.contextmanager
def replaced(owner, name: str, value):
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


def rehearse(
    arms: tuple[str, ...],
    time_budget_minutes: float | None = None,
    reuse_sft: bool = False,
    grpo_max_steps: int | None = None,
    sft_only: bool = False,
    times: LeaseSeconds = LEASE_SECONDS,
    scale: float = SCALE,
    compile_generation: bool = False,
) -> dict:
    """One rehearsal of `make gsm8k` with these options on a GPU (module docstring): its seconds on the GPU, each
    arm's GRPO steps and the timeline of its jobs (name, start, end: seconds from the run's start). `sft_only`:
    `--sft_only --evaluate`, each arm's SFT and then its evaluations, as `gsm8k.sft_only` runs them;
    `compile_generation`: GRPO under `--compile_generation` (`LeaseSeconds.grpo_compiled_step`)."""
    settings = GSM8K_FULL
    test_problems = 1319  # what the earlier run's evaluations scored
    with contextlib.ExitStack() as stack:
        output_dir = pathlib.Path(stack.enter_context(tempfile.TemporaryDirectory()))
        rehearsal = Rehearsal(times, scale, output_dir)
        budget = gsm8k_launch.time_budget(settings, arms, True, rehearsal.started, time_budget_minutes)
        for owner, name, value in (
            (pipeline, "train", rehearsal.train),
            (pipeline, "run_evaluator", rehearsal.evaluate),
            (pipeline, "run_at_once", in_threads),
            (gsm8k, "grpo_curves", lambda *args, **kwargs: {}),
            (gsm8k, "time", types.SimpleNamespace(time=rehearsal.now)),
        ):
            stack.enter_context(replaced(owner, name, value))
        run = {
            "settings": settings,
            "fast": False,
            "device": "cuda",
            "arms_at_once": True,
            "critical_arm": gsm8k.CRITICAL_ARM if gsm8k.CRITICAL_ARM in arms else arms[0],
            "reuse_base": EARLIER_RUN,
            "reuse_sft": EARLIER_RUN if reuse_sft else None,
            "grpo_max_steps": grpo_max_steps,
            "compile_generation": compile_generation,
            **budget,
            "gpu_slots": JobSlots(gsm8k.GPU_JOBS_AT_ONCE),
            "test_file": EARLIER_RUN / "gsm8k_test.jsonl",
            "train_file": EARLIER_RUN / "gsm8k_train.jsonl",
            "test_calculations": {str(index): 2 for index in range(test_problems)},
            "max_new_tokens": {"cot": 256, "tools": 512},
            "tool_settings": {"tools": {"tools": ["python"]}},
        }
        data = {"sft_cot": output_dir, "sft_tools": output_dir, "grpo": output_dir}
        rehearsal._wait("datasets", times.data_prep)
        if sft_only:
            for arm in arms:
                trained = output_dir / f"sft-{arm}"
                pipeline.train(
                    "sft.py", settings.sft_recipes[arm], output_dir, output_dir, trained, 0, None, cpu=False
                )
                gsm8k.evaluate_stage(trained, arm, "sft", output_dir, run, 0)
        else:
            jobs = {arm: (gsm8k.run_arm, (arm, output_dir / "base", data, output_dir, run, 0)) for arm in arms}
            in_threads(jobs, output_dir)
    seconds = rehearsal.now() - rehearsal.started
    return {
        "seconds": seconds,
        "grpo_steps": rehearsal.grpo_steps,
        "timeline": sorted(rehearsal.timeline, key=lambda job: job[1]),
    }


def main(argv: list[str] | None = None) -> dict:
    """The rehearsal's command line; a mistake is one line with exit status 2."""
    with exit_on_usage_error("python -m open_r1.demo.gsm8k_rehearsal"):
        return _main(argv)


def _main(argv: list[str] | None) -> dict:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arm", choices=("cot", "tools", "both"), default="both", help="The arms (default both).")
    parser.add_argument("--time_budget_minutes", type=float, default=None, help="As scripts/gsm8k.py takes it.")
    parser.add_argument("--grpo_max_steps", type=int, default=None, help="As scripts/gsm8k.py takes it.")
    parser.add_argument("--reuse_sft", action="store_true", help="The SFT evaluations taken from an earlier run.")
    parser.add_argument("--sft_only", action="store_true", help="scripts/gsm8k.py --sft_only --evaluate.")
    parser.add_argument(
        "--compile_generation", action="store_true", help="As scripts/gsm8k.py takes it (the chain of thought only)."
    )
    parser.add_argument("--lease_minutes", type=float, default=15.0, help="The lease to fit (default 15).")
    parser.add_argument(
        "--grpo_step_seconds",
        nargs="+",
        default=[],
        metavar="ARM=SECONDS",
        help="A generating GRPO step's seconds in place of the leases' (cot=14.2, tools=78; compiled, cot=5.8), e.g. "
        "from grpo_throughput.py; a step that reuses a generation takes LeaseSeconds.grpo_reuse_step.",
    )
    parser.add_argument(
        "--speedup",
        type=float,
        default=1 / SCALE,
        help=f"Seconds of the lease rehearsed in one second (default {1 / SCALE:g}); far higher, and the "
        "rehearsal's own overheads, which are not sped up, start to count.",
    )
    parser.add_argument(
        "--plans",
        nargs="*",
        default=None,
        metavar="PLAN",
        help=f"Rehearse these scripts/gpu_lease.sh plans (none given: {', '.join(GSM8K_LEASE_PLANS)}) instead, for "
        "docs/gpu.md's table: with --output, their results file.",
    )
    add_results_options(parser)
    args = parser.parse_args(argv)
    if args.write_docs:
        write_results_table(args.write_docs, PLANS_PAGE, PLANS_BEGIN, PLANS_END, plans_section, pipeline.REPO_ROOT)
        return {}
    if args.plans is not None:
        unknown = sorted(set(args.plans) - set(GSM8K_LEASE_PLANS))
        if unknown:
            parser.error(f"--plans: {unknown[0]!r} is no make gsm8k plan of scripts/gpu_lease.sh; expected some of "
                         f"{', '.join(GSM8K_LEASE_PLANS)}")  # fmt: skip
        results = rehearse_plans(tuple(args.plans) or GSM8K_LEASE_PLANS, 1 / args.speedup)
        report_results(results, args.output, plans_section)
        return results
    if not 0 < args.speedup < math.inf:
        parser.error(f"--speedup: expected a positive number, got {args.speedup:g}")
    if not 0 < args.lease_minutes < math.inf:
        parser.error(f"--lease_minutes: expected a positive number of minutes, got {args.lease_minutes:g}")
    # What scripts/gsm8k.py refuses, refused alike: a rehearsal of a run that would not start says nothing of it.
    if args.sft_only:
        check_sft_only(parser, [name for name, value in vars(args).items() if value != parser.get_default(name)])
    check_run_numbers(parser, args)
    arms = gsm8k.ARMS if args.arm == "both" else (args.arm,)
    measured = "grpo_compiled_step" if args.compile_generation else "grpo_step"
    steps = dict(getattr(LEASE_SECONDS, measured))
    for given in args.grpo_step_seconds:
        arm, _, seconds = given.partition("=")
        if arm not in gsm8k.ARMS or not seconds.replace(".", "", 1).isdigit() or float(seconds) <= 0:
            parser.error(f"--grpo_step_seconds: expected ARM=SECONDS with ARM cot or tools, got {given!r}")
        steps[arm] = float(seconds)
    unmeasured = [arm for arm in arms if arm not in steps]
    if unmeasured and not args.sft_only:
        parser.error(
            f"--compile_generation: no lease has measured the {unmeasured[0]} arm's compiled GRPO step; give it "
            f"with --grpo_step_seconds {unmeasured[0]}=SECONDS"
        )
    times = dataclasses.replace(LEASE_SECONDS, **{measured: steps})
    result = rehearse(
        arms, args.time_budget_minutes, args.reuse_sft, args.grpo_max_steps, args.sft_only, times, 1 / args.speedup,
        args.compile_generation,
    )  # fmt: skip
    for name, start, end in result["timeline"]:
        print(f"{start / 60:6.1f} - {end / 60:5.1f} min  {name}")
    minutes = result["seconds"] / 60
    with_setup = minutes + LEASE_SETUP_SECONDS / 60
    verdict = "fits" if with_setup <= args.lease_minutes else "does not fit"
    print(f"the run: {minutes:.1f} min; with a lease's start and install {with_setup:.1f} min: {verdict} a lease of "
          f"{args.lease_minutes:g} min; GRPO steps: {result['grpo_steps']}")  # fmt: skip
    return result


if __name__ == "__main__":
    main()
