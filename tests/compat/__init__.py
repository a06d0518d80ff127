"""Tests of upstream open-r1's names and recipes working here."""
