.PHONY: help install style quality test unit_test slow_test demo gsm8k evaluate

# Plain `make` lists the targets: it used to run the first one, the install.
.DEFAULT_GOAL := help

# Every target runs inside the project's virtual environment, created by `make install`.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PYTHONPATH := src
check_dirs := src tests scripts

help:
	@echo "make TARGET [VARIABLE=value ...] (a fresh clone: make install first, then the README's first commands):"
	@awk -F ': ## ' '/^[a-z0-9_]+: ## / { printf "  %-12s%s\n", $$1, $$2 }' $(firstword $(MAKEFILE_LIST))

install: ## create .venv with the CPU torch and the project (scripts/install.sh; about 4 minutes)
	bash scripts/install.sh

# The variables given on make's own command line; a target that reads named ones refuses any other (a typo such as
# TOOL=1 ran the plain demo): $(call only_variables,NAMES) as the recipe's first line. VENV, PYTHON and TEST_WORKERS
# are any target's; under another make (MAKELEVEL above 0) its command line's variables come along, so no check.
COMMAND_LINE_VARIABLES = $(foreach name,$(.VARIABLES),$(if $(filter command line,$(origin $(name))),$(name)))
UNREAD_VARIABLES = $(strip $(filter-out $(1) VENV PYTHON TEST_WORKERS,$(COMMAND_LINE_VARIABLES)))
only_variables = $(call environment_not_read,$(1))$(if $(filter 0,$(MAKELEVEL)),$(if $(call UNREAD_VARIABLES,$(1)),$(error $(call UNREAD_VARIABLES,$(1)): not a variable make $@ reads; it reads $(1))))
# The variables the targets below read come from make's command line, not the environment: an OUTPUT_DIR, LIMIT,
# MODEL or FAST exported for something else (common names on a cluster) would change a run without a word. Under
# another make, its exports are meant for this one.
TARGET_VARIABLES = TOOLS MODEL SEED FAST OUTPUT_DIR ARM VLLM COMPILE COMPILE_DECODING MINUTES GRPO_STEPS GRPO_LR \
	GRPO_GENERATIONS GRPO_CALCULATIONS TASK BACKEND DATA NUM_SAMPLES LIMIT MAX_NEW_TOKENS NUM_FEWSHOT FEWSHOT_FILE \
	PARALLEL NUM_GPUS DRY_RUN
$(if $(filter 0,$(MAKELEVEL)),$(foreach name,$(TARGET_VARIABLES),$(if $(filter environment,$(origin $(name))),$(eval FROM_ENVIRONMENT += $(name))$(eval ENVIRONMENT_$(name) := $($(name)))$(eval $(name) :=)$(eval unexport $(name)))))
# One line for each the target would have read (FAST=1 make demo ran the full demo without a word).
environment_not_read = $(foreach name,$(filter $(1),$(FROM_ENVIRONMENT)),$(info make $@: $(name)=$(ENVIRONMENT_$(name)) from the environment is not read; give it on make's command line: make $@ $(name)=$(ENVIRONMENT_$(name))))
# Switches (FAST, TOOLS, ...) are on when given as 1: make reads any value as on, so FAST=0 is refused, not run as FAST=1.
only_switches = $(foreach name,$(1),$(if $(filter-out 1,$($(name))),$(error $(name)=$($(name)): a switch is $(name)=1, or not given)))
# Whole numbers (SEED, step counts) are checked here, so that the message names the make variable, not a script's option.
without_digits = $(strip $(foreach digit,0 1 2 3 4 5 6 7 8 9,$(eval _number := $(subst $(digit),,$(_number))))$(_number))
only_whole_numbers = $(foreach name,$(1),$(if $($(name)),$(eval _number := $($(name)))$(if $(call without_digits),$(error $(name)=$($(name)): a whole number, e.g. $(name)=1))))
# Names (TASK) are letters, digits and _ . : -: the recipe passes them to the shell unquoted (TASK=x|5 ran a pipe),
# and lighteval reads , | @ = in a task argument as separators.
NAME_CHARACTERS := a b c d e f g h i j k l m n o p q r s t u v w x y z A B C D E F G H I J K L M N O P Q R S T U V W X Y Z \
	0 1 2 3 4 5 6 7 8 9 _ . : -
without_name_characters = $(strip $(foreach character,$(NAME_CHARACTERS),$(eval _name := $(subst $(character),,$(_name)))))$(_name)
only_names = $(foreach name,$(1),$(eval _name := $($(name)))$(if $(word 2,$($(name)))$(call without_name_characters),$(error $(name)=$($(name)): a name of letters and digits, with _ . : - inside, e.g. $(name)=gsm8k)))

style: ## format and fix the code (ruff)
	$(PYTHON) -m ruff format $(check_dirs) setup.py
	$(PYTHON) -m ruff check --fix $(check_dirs) setup.py

quality: ## check the code's format and lint (ruff) and the shell scripts (shellcheck)
	$(PYTHON) -m ruff check $(check_dirs) setup.py
	$(PYTHON) -m ruff format --check $(check_dirs) setup.py
	shellcheck -x $$(find slurm -name '*.slurm' -o -name '*.sh' | sort) scripts/*.sh

# pytest-xdist workers of the fast suites: the suite waits on subprocesses about half its time, so two share 2
# cores well (docs/benchmarks.md); TEST_WORKERS=0 runs the tests in pytest's own process.
TEST_WORKERS ?= 2

# Fast suite: everything not marked slow.
test: ## the fast test suite, everything not marked slow (about 10 minutes on 2 cores)
	$(PYTHON) -m pytest -n $(TEST_WORKERS) -m "not slow" tests/

# While developing: the fast suite without its end-to-end runs of entry scripts (marked e2e), a few minutes.
unit_test: ## the fast suite without its end-to-end runs of the entry scripts
	$(PYTHON) -m pytest -n $(TEST_WORKERS) -m "not slow and not e2e" tests/

# Slow suite: multi-process DeepSpeed runs, Slurm, full-data checks.
slow_test: ## the slow suite: multi-process DeepSpeed, Slurm, full-data and real-model runs
	$(PYTHON) -m pytest -m slow tests/

# The whole R1 recipe in miniature on CPU (tiny model, cold-start SFT, GRPO, evaluation; about 2.5 minutes on 2
# cores, FAST=1 about 40 s; measured runs in docs/demo.md, written by scripts/demo_report.py from their results.json):
#   make demo [SEED=1] [FAST=1] [OUTPUT_DIR=data/demo]   -> results.json, report.md, curves.png
#   make demo TOOLS=1 [SEED=1] [FAST=1]   -> tool-integrated reasoning miniature (scripts/demo.py --tools, data/demo_tools)
#   make demo MODEL=smollm2 [SEED=1] [FAST=1]   -> the same recipe on SmolLM2-135M-Instruct (fetched by scripts/get_model.py
#       on first use), each stage also scored on 200 GSM8K-test problems
#       (data/demo-smollm2; docs/demo_notes.md has its times)
demo: ## the R1 recipe in miniature on the CPU [SEED=1] [FAST=1] [TOOLS=1] [MODEL=smollm2] [OUTPUT_DIR=...]
	$(call only_variables,TOOLS MODEL SEED FAST OUTPUT_DIR)
	$(call only_switches,TOOLS FAST)
	$(call only_whole_numbers,SEED)
	$(PYTHON) scripts/demo.py $(if $(TOOLS),--tools) $(if $(MODEL),--model $(MODEL)) $(if $(SEED),--seed $(SEED)) $(if $(FAST),--fast) $(if $(OUTPUT_DIR),--output_dir $(OUTPUT_DIR))

# The R1 recipe on GSM8K from SmolLM2-135M-Instruct, two arms (chain of thought; python tool calls), each cold-start
# SFT, GRPO and evaluation of base, SFT and GRPO on GSM8K-test (docs/gsm8k.md). Meant for one GPU; FAST=1 runs the
# whole pipeline on a CPU in minutes:
#   make gsm8k [ARM=cot|tools|both] [SEED=0] [FAST=1] [VLLM=1] [COMPILE=1] [COMPILE_DECODING=1] [MINUTES=26] [GRPO_STEPS=40] [GRPO_LR=3e-5] [GRPO_GENERATIONS=16] [GRPO_CALCULATIONS=3] [OUTPUT_DIR=data/gsm8k]   -> results.json, report.md, curves-*.png
gsm8k: ## the R1 recipe on GSM8K from SmolLM2, two arms, for one GPU (FAST=1: minutes on a CPU; docs/gsm8k.md)
	$(call only_variables,ARM SEED FAST OUTPUT_DIR VLLM COMPILE COMPILE_DECODING MINUTES GRPO_STEPS GRPO_LR GRPO_GENERATIONS GRPO_CALCULATIONS)
	$(call only_switches,FAST VLLM COMPILE COMPILE_DECODING)
	$(call only_whole_numbers,SEED GRPO_STEPS GRPO_GENERATIONS GRPO_CALCULATIONS)
	$(PYTHON) scripts/gsm8k.py $(if $(ARM),--arm $(ARM)) $(if $(SEED),--seed $(SEED)) $(if $(FAST),--fast) $(if $(OUTPUT_DIR),--output_dir $(OUTPUT_DIR)) $(if $(VLLM),--use_vllm) $(if $(COMPILE),--compile_generation) $(if $(COMPILE_DECODING),--compile_decoding) $(if $(MINUTES),--time_budget_minutes $(MINUTES)) $(if $(GRPO_STEPS),--grpo_max_steps $(GRPO_STEPS)) $(if $(GRPO_LR),--grpo_learning_rate $(GRPO_LR)) $(if $(GRPO_GENERATIONS),--grpo_num_generations $(GRPO_GENERATIONS)) $(if $(GRPO_CALCULATIONS),--grpo_max_calculations $(GRPO_CALCULATIONS))

# Evaluation. GPU (lighteval + vLLM, the README setting; results under data/evals/$(MODEL)):
#   make evaluate MODEL=deepseek-ai/DeepSeek-R1-Distill-Qwen-32B TASK=aime24 PARALLEL=tensor NUM_GPUS=8
#   TASK: aime24 | aime25 | math_500 | gpqa:diamond (gpqa) | lcb | lcb_v4; NUM_SAMPLES=64 estimates pass@1 from 64 samples;
#   DRY_RUN=1 checks the arguments and prints the command (lighteval's, or the offline evaluator's) without running it.
# CPU, no Hub (local JSONL with id/problem/answer, graded like accuracy_reward; LIMIT takes the file's first
# problems; OUTPUT_DIR/results.json + details.jsonl, OUTPUT_DIR by default data/evals/<MODEL>/<TASK>):
#   make evaluate BACKEND=cpu MODEL=data/tiny-model TASK=tiny-math DATA=data/tiny-math-test.jsonl \
#       NUM_SAMPLES=2 LIMIT=5 MAX_NEW_TOKENS=64
# The same prompt and grader through lighteval (accelerate backend on CPU, custom task local:$(TASK)), but LIMIT
# problems drawn by lighteval (shuffled, seed 42), and OUTPUT_DIR (default data/evals/<MODEL>) gets
# results/<model folder>/results_<time>.json and details/<model folder>/<time>/*.parquet. It samples only if the
# model's generation_config.json holds "do_sample": true (no shipped model does: add that key, or the run is refused);
# its log's "[nltk_data] Error loading punkt" offline is lighteval's ifeval module, harmless here:
#   make evaluate BACKEND=accelerate MODEL=<folder> TASK=math_500 DATA=../shared/data/math500.jsonl LIMIT=5
# Few-shot, lighteval's GSM8K protocol (SmolLM2's model card; greedy; shots only from FEWSHOT_FILE), either backend
# (the offline evaluator on 2 CPU cores about 11 s a problem: LIMIT=5 for a minute, all 1,319 some 4 hours;
# MAX_NEW_TOKENS caps each answer, 256 by default, on both backends: lighteval's prompts are not cut to it):
#   make evaluate BACKEND=cpu MODEL=data/models/SmolLM2-135M-Instruct-f32 TASK=gsm8k \
#       DATA=../shared/data/gsm8k_test.jsonl NUM_FEWSHOT=5 FEWSHOT_FILE=../shared/data/gsm8k_train.jsonl MAX_NEW_TOKENS=256
# The default OUTPUT_DIR of BACKEND=cpu: data/evals/<MODEL>/<TASK>, MODEL's path without empty, . and .. parts (as
# default_output_dir of src/open_r1/eval/lighteval_command.py, which the other backends use, without the TASK).
empty :=
space := $(empty) $(empty)
evals_folder = data/evals/$(subst $(space),/,$(strip $(filter-out . ..,$(subst /, ,$(MODEL)))))/$(TASK)
# The variables only the cpu and accelerate backends read, among those given on the command line (not the
# environment's: DATA or LIMIT exported on a cluster is no mistake of this command).
VLLM_IGNORED = $(foreach name,DATA LIMIT MAX_NEW_TOKENS NUM_FEWSHOT FEWSHOT_FILE,$(if $(filter command line,$(origin $(name))),$(name)))
# And those only the default backend (lighteval on vLLM) reads.
LOCAL_IGNORED = $(foreach name,PARALLEL NUM_GPUS,$(if $(filter command line,$(origin $(name))),$(name)))

evaluate: ## a benchmark: lighteval on vLLM, or BACKEND=cpu|accelerate on a local file (the comments above it)
	$(call only_variables,MODEL TASK BACKEND DATA NUM_SAMPLES LIMIT MAX_NEW_TOKENS NUM_FEWSHOT FEWSHOT_FILE OUTPUT_DIR PARALLEL NUM_GPUS DRY_RUN)
	$(if $(MODEL),,$(error MODEL is required, e.g. make evaluate MODEL=deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B TASK=aime24))
	$(if $(TASK),,$(error TASK is required: aime24, aime25, math_500, gpqa:diamond (gpqa), lcb or lcb_v4; with BACKEND=cpu or accelerate, any name for DATA))
	$(call only_names,TASK)
	$(if $(NUM_FEWSHOT),$(if $(FEWSHOT_FILE),,$(error NUM_FEWSHOT needs FEWSHOT_FILE=<train .jsonl with problem, solution>)))
	$(if $(FEWSHOT_FILE),$(if $(NUM_FEWSHOT),,$(error FEWSHOT_FILE needs NUM_FEWSHOT=<shots per problem>, e.g. NUM_FEWSHOT=5; without it the run is 0-shot)))
	$(if $(filter command line,$(origin BACKEND)),$(if $(filter-out cpu accelerate vllm,$(BACKEND)),$(error BACKEND must be cpu, accelerate or vllm (the default), got '$(BACKEND)')))
	$(call only_switches,DRY_RUN)
	$(if $(filter cpu accelerate,$(BACKEND)),$(if $(strip $(LOCAL_IGNORED)),$(error $(strip $(LOCAL_IGNORED)): no effect with BACKEND=$(BACKEND): it spreads the default backend (lighteval on vLLM) over GPUs)))
	$(if $(filter command line,$(origin NUM_GPUS)),$(if $(PARALLEL),,$(error NUM_GPUS needs PARALLEL=data or PARALLEL=tensor)))
ifeq ($(BACKEND),cpu)
	$(if $(DATA),,$(error BACKEND=cpu needs DATA=<benchmark .jsonl with id, problem, answer>))
	$(PYTHON) -m open_r1.evaluate --task $(TASK) --data_files $(DATA) --model $(MODEL) --device cpu $(if $(DRY_RUN),--dry_run) \
		$(if $(NUM_SAMPLES),--num_samples $(NUM_SAMPLES)) --output_dir $(or $(OUTPUT_DIR),$(evals_folder)) \
		$(if $(LIMIT),--limit $(LIMIT)) $(if $(MAX_NEW_TOKENS),--max_new_tokens $(MAX_NEW_TOKENS)) \
		$(if $(NUM_FEWSHOT),--prompt_style plain --temperature 0 --num_fewshot $(NUM_FEWSHOT) --fewshot_file $(FEWSHOT_FILE))
else ifeq ($(BACKEND),accelerate)
	$(if $(DATA),,$(error BACKEND=accelerate needs DATA=<benchmark .jsonl with id, problem, answer>))
	$(PYTHON) -m open_r1.eval.lighteval_jobs --backend accelerate --model $(MODEL) --benchmark $(TASK) \
		--data_files $(DATA) $(if $(NUM_SAMPLES),--num_samples $(NUM_SAMPLES)) $(if $(LIMIT),--max_samples $(LIMIT)) \
		$(if $(MAX_NEW_TOKENS),--max_new_tokens $(MAX_NEW_TOKENS)) $(if $(OUTPUT_DIR),--output_dir $(OUTPUT_DIR)) \
		$(if $(NUM_FEWSHOT),--num_fewshot $(NUM_FEWSHOT) --fewshot_file $(FEWSHOT_FILE)) $(if $(DRY_RUN),--dry_run)
else
	$(if $(strip $(VLLM_IGNORED)),$(error $(strip $(VLLM_IGNORED)): no effect with the default backend (lighteval on vLLM, TASK from lighteval's own tasks); add BACKEND=cpu (the offline evaluator) or BACKEND=accelerate))
	$(PYTHON) -m open_r1.eval.lighteval_jobs --model $(MODEL) --benchmark $(TASK) \
		$(if $(PARALLEL),--parallel $(PARALLEL)) $(if $(NUM_GPUS),--num_gpus $(NUM_GPUS)) \
		$(if $(NUM_SAMPLES),--num_samples $(NUM_SAMPLES)) $(if $(OUTPUT_DIR),--output_dir $(OUTPUT_DIR)) \
		$(if $(DRY_RUN),--dry_run)
endif
