"""Tests of open_r1.utils."""
