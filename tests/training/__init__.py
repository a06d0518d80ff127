"""Tests of SFT, GRPO and the training utilities (open_r1.sft, open_r1.grpo, open_r1.utils)."""
