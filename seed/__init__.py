"""Data generators for the two pipelines: a day's bills-due file and a year of monthly salary files.

`python -m seed --help` lists the commands. Names come from the `names` package's census distributions.
"""
