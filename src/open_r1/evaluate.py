"""`python -m open_r1.evaluate`: the offline evaluator's command line (the code is `open_r1.eval.offline`).

    python -m open_r1.evaluate --task math_500 --data_files ../shared/data/math500.jsonl --model data/tiny-model \
        --output_dir /tmp/eval --num_samples 2 --limit 5 --max_new_tokens 64 --device cpu

Not covered: lighteval's protocol and GPUs' vLLM path (`make evaluate`, open_r1.eval.lighteval_jobs).
"""

from open_r1.eval.offline import evaluate, generate_completions, grade_completions, main, write_outputs

__all__ = ["evaluate", "generate_completions", "grade_completions", "main", "write_outputs"]

if __name__ == "__main__":
    from open_r1.eval.offline import INTERRUPTED
    from open_r1.usage import exit_on_interrupt, exit_on_usage_error

    # A mistake in what to evaluate (e.g. --fewshot_file is the evaluated file): one line, before any model loads;
    # Ctrl-C: one line saying what it left.
    with exit_on_interrupt(INTERRUPTED), exit_on_usage_error("open_r1.evaluate"):
        main()
