"""Tests of open_r1.eval (and lighteval's local tasks)."""
