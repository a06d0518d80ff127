"""Tests of open_r1.demo (make demo)."""
