"""The GRPO doctor: the few causes of rewards that stay flat, found at start-up and while training.

    check_before_training(train_dataset, tokenizer, reward_funcs, script_args, training_args, stop_token_ids)
    attach_doctor(trainer, script_args, training_args, train_dataset)  # grpo.py, once the trainer is built

After "the evaluation does not match the paper", upstream open-r1's most frequent reports are "the rewards stay
flat", "accuracy reward is always 0", "format reward is always 0". Their causes are few and checkable, and each
has cost users GPU-days before anyone looked. The doctor looks; each check has a name, used in `doctor_stop_on`.

At start-up (main process only, on ROWS_CHECKED rows spread over the train split, with the real tokenizer and the
configured rewards), after the model is loaded (its generation config says where generation stops):
- `unscorable_gold`: gold answers that their own accuracy reward does not pay when a completion states them (the
  gold boxed in the R1 layout, read as the reward reads it: invisible characters dropped, full-width digits
  folded): unparseable (None: TRL skips the sample), a mapping or a list of several values (None too), several
  values, a worked solution with no final answer, a final answer that is a sentence (`reads_as_prose`: it pays only
  itself, word for word), or one math-verify reads as text only (`read_as_text`: '√2' pays itself, not \\sqrt{2}).
  Warns when more than WARN_SHARE of the rows checked fail; says how many, with one example.
- `no_stop_token`: a chat template that ends assistant turns with no special token, or with one generation does
  not stop at (neither the tokenizer's eos nor the generation config's): completions run to
  `max_completion_length`. pad == eos is not a finding: TRL 1.16 masks padding by position.
- `long_solutions`: more than WARN_SHARE of the reference solutions (`solution`, else `answer`) are longer than
  `max_completion_length` tokens: a completion that reasons as far as the reference is cut before its answer.
- `unpayable_format`: a format reward of the run (format, code_format; tag_count's full score) whose shortest paid
  completion, the R1 layout with nothing between its tags (tag_count: the four tags alone; without `<think>` under
  `think_prefilled`), is longer than `max_completion_length` tokens: it pays no completion. The accuracy rewards have
  no such bound: a shorter form of the gold that math-verify accepts pays (`\\boxed{0.5}` for `\\frac{1}{2}`).
- `long_prompts`: more than WARN_SHARE of the prompts (chat template applied, without the tools' schemas) are
  longer than `max_prompt_length`, which keeps the last tokens of a prompt: the system prompt is cut first. With
  `max_prompt_length` unset, longer than the model's context (max_position_embeddings, else the tokenizer's
  model_max_length) less `max_completion_length`: uncut, a completion that runs to its limit passes the context.
A chat template that pre-fills `<think>` while `think_prefilled` is off is not the doctor's: it is certain, so
`open_r1.utils.model_utils.check_think_prefill` makes it an error, with or without the doctor.

While training (`TrainingDoctor`, a TrainerCallback reading the metrics TRL logs at each logging step), a symptom
that lasts `doctor_patience` steps, counted in whole logs (at `logging_steps` 10, one log of ten steps):
- `constant_reward`: a reward function gives every completion the same value that pays nothing (`rewards/<name>/std`
  0 and the mean 0, negative or None; completions it left unscored are counted). A reward at its full value for
  everyone (format 1.0 once learnt) is not a symptom, unless every reward is constant and none pays nothing (then no
  group has spread: the problems are too easy, or the reward tells no completion apart); nor is a penalty at 0
  (`PENALTIES`: no completion was penalised).
- `zero_spread`: the share of groups whose completions all earn the same total (`frac_reward_zero_std`), averaged
  over the last logs that span `doctor_patience` steps, is above `doctor_zero_std_share`: those groups have no
  advantage, so no gradient.
- `clipped`: the share of completions cut at `max_completion_length` (`completions/clipped_ratio`), averaged
  likewise, is above `doctor_clipped_share`; the warning counts the last batch's completions that go round a step
  (`open_r1.rewards.repetition.repeats_a_line`).
- `entropy_collapse`: the policy's mean token entropy (`entropy`) below ENTROPY_COLLAPSE_SHARE of the highest of
  its ENTROPY_WINDOW logged values before: a fall that sudden is a learning rate too high, or a reward gamed with one
  repeated output (a long run's slow decline, from a base model, is not one).
- `kl_blowup`: the policy's KL from the reference (`kl`, logged when beta is not 0) above KL_BLOWUP_NATS per token:
  a learning rate too high or a beta too small. A reward that paid before and now pays nothing (`constant_reward`)
  is then named as a regression, with the step where it paid, not as a model that cannot solve the problems.
- `dead_gradient`: `grad_norm` 0 (DEAD_GRADIENT_NORM) in `doctor_patience` logs in a row (a log's norm is its last
  step's) while at least half the groups had reward spread: weights saturated under a learning rate too high, or
  every row with an advantage kept out of the loss (`mask_truncated_completions`).
- `empty_completions`: completions of EMPTY_COMPLETION_TOKENS or fewer on average (`completions/mean_length`):
  generation stops at once (a missing generation prompt, an SFT that taught the end first, the eos setting).
- With `tools` (TRL logs `tools/call_frequency`) and `max_tool_calling_iterations` not 0 (the tool demo's arm
  without calls): `no_tool_calls`, no completion called a tool; `tool_errors`, the share of calls that gave no
  value stays above `doctor_tool_error_share`: those TRL could not make (`tools/failure_frequency`: an unknown
  tool, arguments it does not take) and the python calls that failed (`tools/python_error_rate`: an error, a
  timeout, a sandbox failure or a call refused for the rollout's time budget).
Symptoms due at the same step make one warning, with the likely causes of each and one completion of the last batch
(TRL's `GRPOTrainer._logs`) with what each reward read in it: the accuracy rewards' parsed answer and the row's gold,
the format rewards' tags, and the first tool results of a completion that called a tool. Each symptom is
reported once while it lasts, and again if it comes back after as long without it. Each warning
is also the metric `doctor/<check>` (1) in the next log (wandb's too).

At the end of training one line says what share of the run's groups had no reward spread (generated and trained
on for no gradient), whether or not it ever warranted `zero_spread`. A run too short to warn while training (a smoke
test) gets instead one INFO line naming every symptom that lasted all of it, with its measure alone (`Finding.brief`).

It warns. `doctor_stop_on` names the findings that stop the run instead: a start-up one ends it before training
(a `UsageError`: one line, exit status 2), a training one stops training at that step (the Trainer then saves as at
its normal end). `doctor: false` turns it off.

Layout: `checks` (the checks' names, the settings' defaults, `Finding`), `startup`, `training`; this package
gives their public names.
Not covered: code rewards' test cases (their sandbox reports those), reward models, evaluation logs; drift between
vLLM's and the trainer's log-probabilities (TRL logs `sampling/*`; no threshold here has been measured on a GPU).
"""

from open_r1.doctor.checks import (
    ALL_CHECKS,
    CHECKS,
    DEFAULT_CLIPPED_SHARE,
    DEFAULT_DOCTOR,
    DEFAULT_PATIENCE,
    DEFAULT_TOOL_ERROR_SHARE,
    DEFAULT_ZERO_STD_SHARE,
    STARTUP_CHECKS,
    TRAINING_CHECKS,
    Finding,
    gold_column,
    stop_checks,
)
from open_r1.doctor.startup import (
    ROWS_CHECKED,
    check_before_training,
    check_gold_answers,
    check_prompt_length,
    check_prompt_room,
    check_solution_length,
    check_stop_token,
    reads_as_prose,
)
from open_r1.doctor.training import (
    TrainingDoctor,
    attach_doctor,
    gold_finder,
)

__all__ = [
    "ALL_CHECKS",
    "CHECKS",
    "DEFAULT_CLIPPED_SHARE",
    "DEFAULT_DOCTOR",
    "DEFAULT_PATIENCE",
    "DEFAULT_TOOL_ERROR_SHARE",
    "DEFAULT_ZERO_STD_SHARE",
    "ROWS_CHECKED",
    "STARTUP_CHECKS",
    "TRAINING_CHECKS",
    "Finding",
    "TrainingDoctor",
    "attach_doctor",
    "check_before_training",
    "check_gold_answers",
    "check_prompt_length",
    "check_prompt_room",
    "check_solution_length",
    "check_stop_token",
    "gold_column",
    "gold_finder",
    "reads_as_prose",
    "stop_checks",
]
