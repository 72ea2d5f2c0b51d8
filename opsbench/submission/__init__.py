"""Leaderboard submissions: package jobs, validate a package like a bot, nothing executed.

A package is `submissions/<benchmark>/<version>/<agent>__<model>/` holding `metadata.yaml`
and whole job directories (copies, never symlinks). `validate.validate_package` runs every
rule (one module per rule group under `rules/`) over a package read by `files` and `load`:
only regular files inside the package are ever opened, nothing from it is executed or
imported, and malformed input becomes a rule failure naming the file, never a traceback.
"""
