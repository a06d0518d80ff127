"""open-r1's test suite: one folder per package of src/open_r1 (plus scripts/ and slurm/), helpers in tests.support.

A package so that module names may repeat across folders and every module imports the helpers the same way
(`from tests.support.sandbox_checks import within`); pytest puts the repository root on sys.path for it.
"""
