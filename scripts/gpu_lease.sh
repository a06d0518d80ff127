#!/usr/bin/env bash
# Issue 30's GPU measurements on a lent GPU machine without network access, run in the background so that a
# short-lived command can start it, poll it and collect it (docs/gpu.md, "A GPU machine without network access").
#
#   bash scripts/gpu_lease.sh start PLAN [LEFT [AT]]  # unpack and install data/offline/load* once, then run
#                                           # PLAN; returns at once. LEFT: the lease's seconds left (the first call's
#                                           # budget_left_s), AT: the machine's `date +%s` then (the first call's
#                                           # output): each command ends COLLECT_SECONDS before LEFT runs out, its
#                                           # limit and any --time_budget_minutes cut to fit, or is skipped
#   bash scripts/gpu_lease.sh need PLAN     # the seconds of lease PLAN needs after the machine's start (here,
#                                           # before the second call: with less, another plan)
#   bash scripts/gpu_lease.sh status        # whether the run ended (and how), its last lines, its GPU memory
#   bash scripts/gpu_lease.sh collect DIR   # what the run wrote: DIR/lease.tgz, and the evaluations' details.tgz
#   bash scripts/gpu_lease.sh wait SECONDS DIR   # until the run ends or SECONDS pass, collecting into DIR each
#                                           # minute and at the end, then status: a call cut short keeps the last
#
# A lent machine goes back after half a minute without a call, the run with it: chain `start PLAN && wait` and
# further `wait`s without a pause (docs/gpu.md). `start` refuses at once where a load has not arrived.
#
# While a plan runs, lease/gpu_memory.txt (in lease.tgz) records each GPU process's memory every second.
#
# The cot and tools plans are one arm each, on leases of their own: `python scripts/gsm8k.py --combine` reads the
# two runs' folders (lease.tgz unpacked) as one run of both arms. The tool arm's SFT, its four evaluations and GRPO
# do not fit one lease, so its SFT evaluations come from a tools-sft lease first (docs/gpu.md).
#
# PLAN (what fits a 15-minute lease, docs/gpu.md):
#   decoding          the evaluator uncompiled and compiled (compiled_evaluation.py), then decode_step.py's compiled
#                     ways at the evaluator's 512 rows (GRPO's 128: the lease of 2026-11-27)
#   tools-throughput  the tool arm's SFT, then grpo_throughput.py's trl, project_ahead and project_compiled_ahead
#                     (chunks of 96, as make gsm8k's tool arm decodes on a GPU) and project arms, a step each
#   cot               make gsm8k's chain-of-thought arm, GRPO with a compiled decode step for as many of 80 steps as
#                     11 minutes leave
#   cot-calc3         the cot plan with GRPO prompted with the rows of up to 3 calculations (a lever of its goal),
#                     then the GRPO model's greedy evaluation compiled in what the run leaves
#   cot-lr            the same with GRPO at three times its recipe's learning rate (the other lever)
#   cot-gen16         the same with 16 completions per GRPO prompt in place of 8, as many rows (a third lever)
#   tools-sft         the tool arm's SFT and its evaluations (scripts/gsm8k.py --sft_only --evaluate), then its
#                     greedy evaluation compiled in what the run leaves
#   tools             make gsm8k's tool arm within 11 minutes, its SFT evaluations those of a tools-sft lease, whose
#                     lease.tgz is unpacked into data/lease-tools-sft and carried here
# Each plan line is the seconds its command may run, then the command: one past its limit is stopped (its process
# group), so that every plan's limits (each with KILL_AFTER), the lease's start and install and collect fit 15
# minutes (tested); each results file is written as it goes, so a stopped command leaves what it finished. A line
# `rest <seconds> <command>` runs its command in what the plan's limits leave unspent, if at least <seconds>: the
# single-run plans then price the compiled decode step in what their run leaves, most where it failed early (the
# cot lease of 2026-11-26), some after a run that ended well within its limit.
# GPU_LEASE_DRY_RUN=1 prints the plan's lines instead of running them. GPU_LEASE_DATA: the folder the lease's
# files are under (data, where make gsm8k writes; tests point it elsewhere).
set -euo pipefail

SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
CALLER_DIR=$PWD  # collect's DIR is the caller's, not the repository's
cd "$(dirname "$SELF")/.."
DATA=${GPU_LEASE_DATA:-data}
LEASE_DIR=$DATA/lease
TRAIN=data/shared/gsm8k_train.jsonl
TEST=data/shared/gsm8k_test.jsonl
BASE_EVALS=docs/results/gsm8k-h100-2026-11-24
TOOL_RECIPE=recipes/SmolLM2-135M-Instruct/grpo/config_gsm8k_tools.yaml
TOOLS_SFT_RUN=$DATA/lease-tools-sft/gsm8k
PLANS="decoding, tools-throughput, cot, cot-lr, cot-calc3, cot-gen16, tools-sft, tools"
KILL_AFTER=10  # seconds a command stopped at its limit has to end before it is killed
COLLECT_SECONDS=60  # a lease's last collect, its last poll, the calls' transfers and handing the machine back
LEAST_SECONDS=60  # a plan command left less than this by the lease is skipped: too short to measure anything
INSTALL_SECONDS=107  # the bundle's unpack and install, the model dequantised (gsm8k_rehearsal's LEASE_SETUP_SECONDS)
# Of the chain of thought's GRPO under --time_budget_minutes 11: 8 minutes leave it about 35 steps of its 80
# (`python -m open_r1.demo.gsm8k_rehearsal --arm cot --grpo_max_steps 80 --compile_generation --time_budget_minutes 8`),
# as many as the second cot lease of 2026-11-27 trained; fewer would say little.
GIVE_UP_SECONDS=180
COLLECT_EVERY=60  # seconds between a wait's collects

# What a plan's lease still owes, in the time its run leaves (failed early or ended well within its limit): the
# compiled decode step against float32 at the evaluator's 512 rows (GRPO's 128 measured on the lease of 2026-11-27;
# its results file written after each way).
rest_of_the_lease() {
    echo "rest 120 python3 scripts/benchmarks/decode_step.py --model data/models/SmolLM2-135M-Instruct-f32" \
        "--device cuda --ways float32 autocast_static_compiled static_compiled --data_files $TRAIN" \
        "--rows 512 --repeats 2 --long_tokens 40 --output $LEASE_DIR/decode_step_rest.json"
}

plan_commands() {
    case "$1" in
        decoding)
            # The evaluator, uncompiled and compiled, on the base model (make gsm8k's chain-of-thought evaluations of
            # all 1,319 problems, greedy then sampled): its results file written after each evaluation.
            echo "340 python3 scripts/benchmarks/compiled_evaluation.py --model data/models/SmolLM2-135M-Instruct-f32" \
                "--arm cot --test_file $TEST --output $LEASE_DIR/compiled_evaluation_cot.json"
            # Each compiled way compiles twice (a first call, then prompts 16 columns wider): 31 s and 55 s at 128 rows
            # on the lease of 2026-11-27, whose plan stopped this script at 200 s.
            echo "330 python3 scripts/benchmarks/decode_step.py --model data/models/SmolLM2-135M-Instruct-f32" \
                "--device cuda --ways float32 autocast autocast_static_compiled static_compiled --data_files $TRAIN" \
                "--rows 512 --repeats 2 --long_tokens 40 --output $LEASE_DIR/decode_step.json"
            ;;
        tools-throughput)
            echo "200 python3 scripts/gsm8k.py --sft_only --arm tools --train_file $TRAIN"
            # make gsm8k's tool step (decoded ahead in chunks of 96), then the same compiled (COMPILE=1), beside bare
            # TRL's, and last the eager project arm in rounds, which the lease of 2026-11-26 measured: a limit reached
            # in the compiled arm's warm-up (its compilations, not measured) costs that arm alone.
            echo "470 python3 scripts/benchmarks/grpo_throughput.py --model data/gsm8k/sft-tools --device cuda --steps 1" \
                "--arms trl project_ahead project_compiled_ahead project --chunk_tokens 96 --recipe $TOOL_RECIPE" \
                "--data_files $TRAIN --gsm8k_grpo_prompts --output $LEASE_DIR/grpo_throughput_gsm8k_tools.json"
            ;;
        cot)
            echo "680 python3 scripts/gsm8k.py --train_file $TRAIN --test_file $TEST --reuse_base $BASE_EVALS" \
                "--arm cot --time_budget_minutes 11 --grpo_max_steps 80 --compile_generation"
            rest_of_the_lease
            ;;
        cot-lr | cot-calc3 | cot-gen16)
            # The cot plan with one lever of its missed goal changed (80 steps at the recipe's learning rate moved
            # the policy little, 0.10% of tokens clipped where any could be, and gained 0.8 points of the 2 asked,
            # on the 2-calculation problems like its prompts, losing on the longest): GRPO at three times the
            # recipe's learning rate, or prompted with the rows of up to 3 calculations instead of 2, or with 16
            # completions per prompt (most of its groups of 8 had no reward spread, so no gradient: docs/gsm8k.md).
            local lever="--grpo_learning_rate 3e-5"
            if [ "$1" = cot-calc3 ]; then lever="--grpo_max_calculations 3"; fi
            if [ "$1" = cot-gen16 ]; then lever="--grpo_num_generations 16"; fi
            echo "680 python3 scripts/gsm8k.py --train_file $TRAIN --test_file $TEST --reuse_base $BASE_EVALS" \
                "--arm cot --time_budget_minutes 11 --grpo_max_steps 80 --compile_generation $lever"
            # The GRPO model's greedy evaluation compiled, beside the run's own uncompiled one (its results.json's
            # decoding): the cot plan's run left 117 s on the lease of 2026-11-27, too few for the decode step's rest.
            echo "rest 90 python3 scripts/benchmarks/compiled_evaluation.py --model data/gsm8k/grpo-cot --arm cot" \
                "--test_file $TEST --kinds greedy --ways compiled --output $LEASE_DIR/compiled_evaluation_cot_grpo.json"
            rest_of_the_lease
            ;;
        tools-sft)
            echo "680 python3 scripts/gsm8k.py --sft_only --evaluate --arm tools --train_file $TRAIN --test_file $TEST"
            # The tool arm's greedy evaluation (its long pole), compiled, on the SFT model just trained: the run's own
            # greedy evaluation of that model is the uncompiled one (its results.json's decoding).
            echo "rest 120 python3 scripts/benchmarks/compiled_evaluation.py --model data/gsm8k/sft-tools --arm tools" \
                "--test_file $TEST --kinds greedy --ways compiled --output $LEASE_DIR/compiled_evaluation_tools.json"
            ;;
        tools)
            echo "680 python3 scripts/gsm8k.py --train_file $TRAIN --test_file $TEST --reuse_base $BASE_EVALS" \
                "--reuse_sft $TOOLS_SFT_RUN --arm tools --time_budget_minutes 11"
            rest_of_the_lease
            ;;
        *)
            echo "gpu_lease.sh: unknown plan '$1' (one of $PLANS)" >&2
            exit 2
            ;;
    esac
}

# Every second until killed: the GPU's memory in use and each GPU process's, with its command (`<epoch> gpu <MiB>`,
# `<epoch> <pid> <MiB> <command>`), so that an out-of-memory names who held the memory (none recorded it on 2026-11-26).
sample_gpu_memory() {
    local now pid mib
    trap 'exit 0' TERM  # run once the sample being written is whole: no line lands after the run ends
    while true; do
        now=$(date +%s)
        echo "$now gpu $(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -n 1)"
        nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits |
            while IFS=', ' read -r pid mib; do
                echo "$now $pid $mib $(ps -o args= -p "$pid" | cut -c 1-200)"
            done || true  # a process gone between the two calls, or nvidia-smi failing once: the next second
        sleep 1 &
        wait $! || true  # a wait that TERM interrupts at once, unlike a sleep in the foreground
    done
}

# The seconds plan $1 needs of a lease after its machine's start (its limits each with KILL_AFTER, the install
# unless $2 is `installed`, the collect), then the least it can do with: the same, less the GRPO time its run's
# --time_budget_minutes can give up (GIVE_UP_SECONDS: the chain of thought's; the tool arm's GRPO has one step or
# two to give, and its evaluations not a second).
plan_need() {
    local need give_up=0 limit command
    need=$((COLLECT_SECONDS + $(plan_limits "$1")))
    if [ "${2:-}" != installed ]; then need=$((need + INSTALL_SECONDS)); fi
    while read -r limit command; do
        if [[ " $command " == *" --time_budget_minutes "* && " $command " == *" --arm cot "* ]]; then
            give_up=$GIVE_UP_SECONDS
        fi
    done < <(plan_commands "$1")
    echo "$need $((need - give_up))"
}

# The seconds plan $1's commands may take at most: each limit with KILL_AFTER (a `rest` line takes what they leave).
plan_limits() {
    local total=0 limit
    while read -r limit _; do
        if [ "$limit" != rest ]; then total=$((total + limit + KILL_AFTER)); fi
    done < <(plan_commands "$1")
    echo "$total"
}

# A plan command cut by $2 seconds from its limit: its --time_budget_minutes, if any, cut as much (to the hundredth
# of a minute, down), so that the run plans GRPO to leave its evaluations time; nothing where that leaves less than
# a minute.
fit_time_budget() {
    local command=$1 cut=$2 minutes
    if [[ ! " $command " =~ \ --time_budget_minutes\ ([0-9.]+)\  ]]; then
        echo "$command"
        return 0
    fi
    minutes=$(awk -v m="${BASH_REMATCH[1]}" -v c="$cut" 'BEGIN { printf "%.2f", int((m * 60 - c) * 100 / 60) / 100 }')
    if awk -v m="$minutes" 'BEGIN { exit !(m < 1) }'; then return 0; fi
    echo "${command/--time_budget_minutes ${BASH_REMATCH[1]}/--time_budget_minutes $minutes}"
}

run_plan() {
    local plan=$1 lease_left=${2:-} left_at=${3:-}
    if command -v nvidia-smi > /dev/null; then
        sample_gpu_memory > "$LEASE_DIR/gpu_memory.txt" 2> /dev/null &
        # shellcheck disable=SC2064  # the sampler's pid now, for whichever way the plan ends
        trap "kill $! 2> /dev/null && wait $! || true" EXIT
    fi
    if [ ! -f "$LEASE_DIR/installed" ]; then
        echo "+ [$(date -u +%H:%M:%S), ${SECONDS} s] unpack and install"
        python3 scripts/offline_bundle.py unpack --install --bundle_dir "$DATA/offline"
        touch "$LEASE_DIR/installed"
    fi
    local failed=0
    local status started least left fitted rest
    local budget plan_started=$SECONDS
    budget=$(plan_limits "$plan")
    # Seconds into this run (its install included) by which the plan's commands end, the lease's collect after them;
    # the seconds between the reading of LEFT and this run's start (AT: when it was read) spent already.
    local deadline=""
    if [ -n "$lease_left" ]; then
        local spent=0
        if [ -n "$left_at" ]; then spent=$(($(date +%s) - left_at - SECONDS)); fi
        deadline=$((lease_left - spent - COLLECT_SECONDS))
        echo "gpu_lease.sh: the lease had $lease_left s left, $spent s before this run's start: its commands end" \
            "within $deadline s of it"
    fi
    while read -r limit command; do
        rest=0 least=0
        if [ "$limit" = rest ]; then
            rest=1
            read -r least command <<< "$command"
            limit=$((budget - (SECONDS - plan_started) - KILL_AFTER))
        fi
        if [ -n "$deadline" ] && [ $((deadline - SECONDS - KILL_AFTER)) -lt "$limit" ]; then
            left=$((deadline - SECONDS - KILL_AFTER))
            if [ "$rest" = 0 ]; then least=$LEAST_SECONDS; fi
            fitted=$(fit_time_budget "$command" $((limit - left)))
            if [ "$left" -ge "$least" ] && [ -n "$fitted" ]; then
                echo "gpu_lease.sh: cut from $limit to $left s, to end before the lease does: $fitted"
                command=$fitted
            elif [ "$left" -ge "$least" ]; then
                echo "gpu_lease.sh: skipped, ${left} s left, less than a minute of its time budget: $command"
                failed=1  # a measurement of the plan's own not made
                continue
            fi
            limit=$left
        fi
        if [ "$limit" -lt "$least" ]; then
            echo "gpu_lease.sh: skipped, ${limit} s left of the ${least} s it needs: $command"
            if [ "$rest" = 0 ]; then failed=1; fi  # a measurement of the plan's own not made
            continue
        fi
        echo "+ [$(date -u +%H:%M:%S), ${SECONDS} s] $command"
        # Each command runs whatever an earlier one did: the lease is spent either way, and a later measurement
        # may stand on its own (a failed one names itself here and in the exit status).
        status=0
        started=$SECONDS
        # shellcheck disable=SC2086  # each plan command is split into its words on purpose
        PYTHONPATH=src timeout --kill-after=$KILL_AFTER "$limit" $command < /dev/null || status=$?  # stdin: the plan's
        # 124: timeout's own signal ended it; 137 is also any other SIGKILL (out of memory), hence the time too.
        if { [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; } && [ $((SECONDS - started)) -ge "$limit" ]; then
            echo "gpu_lease.sh: stopped at its limit of $limit s: $command"
            failed=1
        elif [ "$status" -ne 0 ]; then
            echo "gpu_lease.sh: failed: $command"
            failed=1
        fi
    done < <(plan_commands "$plan")
    echo "gpu_lease.sh: [$(date -u +%H:%M:%S), ${SECONDS} s] the plan ended"
    return $failed
}

# tar's arguments (paths under $DATA) into the tarball $1, written beside it and renamed once whole. tar's status 1
# says a file changed while it was read (a log the running plan appends to): the tarball is whole all the same.
pack_as() {
    local tarball=$1 status=0
    shift
    tar czf "$tarball.part" -C "$DATA" "$@" || status=$?
    if [ "$status" -gt 1 ]; then
        rm -f "$tarball.part"
        echo "gpu_lease.sh: tar failed ($status) writing $tarball; the last whole one stays" >&2
        return 1
    fi
    mv "$tarball.part" "$tarball"
}

# What the run wrote, into the caller's folder $1: lease.tgz (results, logs, report; no weights, no details) and
# details.tgz (the evaluations' details.jsonl), each through `pack_as`: a command cut short mid-write leaves the last
# whole one.
collect() {
    local destination path
    if ! destination=$(cd "$CALLER_DIR" && cd "$1" 2> /dev/null && pwd); then
        echo "gpu_lease.sh: collect: no folder $1" >&2
        return 2
    fi
    local found=()
    # The curves too: `scripts/gsm8k.py --combine` copies them beside the report of the leases' arms together.
    for path in lease/run.log lease/gpu_memory.txt lease/decode_step.json lease/decode_step_rest.json \
        lease/grpo_throughput_gsm8k_cot.json lease/compiled_evaluation_cot.json lease/compiled_evaluation_tools.json \
        lease/compiled_evaluation_cot_grpo.json \
        lease/grpo_throughput_gsm8k_tools.json gsm8k/results.json gsm8k/report.md \
        gsm8k/curves-cot.png gsm8k/curves-tools.png gsm8k/logs gsm8k/evals; do
        if [ -e "$DATA/$path" ]; then found+=("$path"); fi
    done
    if [ ${#found[@]} -eq 0 ]; then
        echo "gpu_lease.sh: nothing to collect under $DATA" >&2
        return 1
    fi
    # The evaluations' details.jsonl are the largest files: a tarball of their own, so that the device holding
    # one back over its size limit keeps the results files, logs and report of lease.tgz.
    pack_as "$destination/lease.tgz" --exclude='*.safetensors' --exclude=details.jsonl "${found[@]}" || return 1
    echo "wrote $destination/lease.tgz: ${found[*]}"
    local details=()
    if [ -d "$DATA/gsm8k/evals" ]; then
        while IFS= read -r -d '' path; do details+=("${path#"$DATA"/}"); done \
            < <(find "$DATA/gsm8k/evals" -name details.jsonl -print0 | sort -z)
    fi
    if [ ${#details[@]} -gt 0 ]; then
        pack_as "$destination/details.tgz" "${details[@]}" || return 1
        echo "wrote $destination/details.tgz: ${#details[@]} evaluations' details.jsonl"
    else
        rm -f "$destination/details.tgz"  # an earlier run's, not this one's
    fi
}

show_status() {
    if [ ! -f "$LEASE_DIR/run.log" ]; then
        echo "no run started here"
        return 0
    fi
    if [ -f "$LEASE_DIR/exit_status" ]; then
        echo "ended with exit status $(cat "$LEASE_DIR/exit_status")"
    else
        echo "running"
    fi
    tail -n 5 "$LEASE_DIR/run.log"
    if [ -s "$LEASE_DIR/gpu_memory.txt" ]; then
        awk '$2 == "gpu" { if ($3 > peak) peak = $3; last = $3 }
            END { if (peak != "") print "GPU memory in use: " last " MiB now, " peak " MiB at most" }' \
            "$LEASE_DIR/gpu_memory.txt"
    fi
}

case "${1:-}" in
    start)
        if [ $# -lt 2 ] || [ $# -gt 4 ]; then
            echo "gpu_lease.sh: start takes one plan ($PLANS), then the lease's seconds left and when, if known" >&2
            exit 2
        fi
        lease_left="" left_at=""
        if [ $# -ge 3 ]; then
            if ! [[ "$3" =~ ^[0-9]+(\.[0-9]*)?$ ]]; then
                echo "gpu_lease.sh: start: the lease's seconds left is a number (the first call's budget_left_s)," \
                    "not '$3'" >&2
                exit 2
            fi
            lease_left=$((10#${3%%.*}))  # whole seconds, never read as octal
        fi
        if [ $# -eq 4 ]; then
            if ! [[ "$4" =~ ^[0-9]+$ ]] || [ $((10#$4)) -gt "$(date +%s)" ]; then
                echo "gpu_lease.sh: start: when the seconds left were read is this machine's \`date +%s\` then (the" \
                    "first call's output), not '$4'" >&2
                exit 2
            fi
            left_at=$((10#$4))
        fi
        commands=$(plan_commands "$2")
        if [ "${GPU_LEASE_DRY_RUN:-0}" = 1 ]; then
            echo "$commands"
            exit 0
        fi
        # Before the bundle's install: a minute and a half of the lease that the run would spend to then stop.
        if [ "$2" = tools ] && { [ ! -d "$TOOLS_SFT_RUN/evals" ] || [ ! -f "$TOOLS_SFT_RUN/results.json" ]; }; then
            echo "gpu_lease.sh: the tools plan takes a tools-sft lease's SFT evaluations from $TOOLS_SFT_RUN, which" \
                "has none: unpack that lease's lease.tgz into $DATA/lease-tools-sft and carry it" >&2
            exit 2
        fi
        # A load lost with an earlier machine would fail the run's unpack in the background: say so now.
        if [ ! -f "$LEASE_DIR/installed" ] && ! python3 scripts/offline_bundle.py unpack --check --bundle_dir "$DATA/offline"; then
            echo "gpu_lease.sh: not started: carry the loads into $DATA/offline first" >&2
            exit 2
        fi
        mkdir -p "$LEASE_DIR"
        rm -f "$LEASE_DIR/exit_status"
        : > "$LEASE_DIR/run.log"  # here, not in the background: a `wait` chained after this finds the run at once
        # A plan the lease cannot hold even with its GRPO shortened: in the run's output (`need` says it before the
        # lease's second call).
        if [ -n "$lease_left" ]; then
            installed=""
            if [ -f "$LEASE_DIR/installed" ]; then installed=installed; fi
            read -r need least <<< "$(plan_need "$2" "$installed")"
            have=$lease_left
            if [ -n "$left_at" ]; then have=$((lease_left - ($(date +%s) - left_at))); fi
            if [ "$have" -lt "$least" ]; then
                echo "gpu_lease.sh: warning: $2 needs $least s at least and the lease has $have: its commands will" \
                    "be cut and may end before their results (\`bash scripts/gpu_lease.sh need PLAN\`)"
            fi
        fi
        # The run outlives this command; its exit status lands in a file for `status`.
        setsid nohup bash -c "bash '$SELF' run '$2' $lease_left $left_at >> '$LEASE_DIR/run.log' 2>&1;
            echo \$? > '$LEASE_DIR/exit_status'" > /dev/null 2>&1 &
        echo "started $2: bash scripts/gpu_lease.sh status"
        ;;
    run)
        run_plan "$2" "${3:-}" "${4:-}"
        ;;
    need)
        if [ $# -ne 2 ]; then
            echo "gpu_lease.sh: need takes one plan ($PLANS)" >&2
            exit 2
        fi
        plan_commands "$2" > /dev/null  # an unknown plan: its one line
        read -r need least <<< "$(plan_need "$2")"  # a lent machine starts bare: the install counts
        if [ "$least" -lt "$need" ]; then
            echo "$2: $need s of lease after the machine's start, $least at least (its GRPO shortened)"
        else
            echo "$2: $need s of lease after the machine's start; with less, run a plan that shortens its GRPO"
        fi
        ;;
    status)
        show_status
        ;;
    collect)
        if [ $# -ne 2 ]; then
            echo "gpu_lease.sh: collect takes the folder to write lease.tgz into" >&2
            exit 2
        fi
        collect "$2"
        ;;
    wait)
        if [ $# -ne 3 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
            echo "gpu_lease.sh: wait takes the seconds to wait at most and the folder to collect into" >&2
            exit 2
        fi
        if [ ! -f "$LEASE_DIR/run.log" ]; then
            echo "gpu_lease.sh: wait: no run started here" >&2
            exit 2
        fi
        if ! (cd "$CALLER_DIR" && cd "$3" 2> /dev/null); then
            echo "gpu_lease.sh: wait: no folder $3" >&2
            exit 2
        fi
        waited_since=$SECONDS
        collected_at=$SECONDS
        while [ ! -f "$LEASE_DIR/exit_status" ] && [ $((SECONDS - waited_since)) -lt "$2" ]; do
            sleep 5
            if [ $((SECONDS - collected_at)) -ge "$COLLECT_EVERY" ]; then
                collect "$3" > /dev/null 2>&1 || true
                collected_at=$SECONDS
            fi
        done
        collect "$3" || true
        show_status
        ;;
    *)
        echo "gpu_lease.sh: usage: bash scripts/gpu_lease.sh start PLAN [LEFT [AT]] | need PLAN | status |" \
            "collect DIR | wait SECONDS DIR" >&2
        exit 2
        ;;
esac
