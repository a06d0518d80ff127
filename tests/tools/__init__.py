"""Tests of open_r1.tools (the python tool, alone and in GRPO)."""
