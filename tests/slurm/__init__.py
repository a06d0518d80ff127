"""Tests of the Slurm scripts (slurm/) on a real single-host Slurm cluster (slow)."""
