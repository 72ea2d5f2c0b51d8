"""Grading: checks, compliance rules, the LLM judge, and scoring.

The modules `checks`, `scoring` and `incontainer` import each other relatively and
nothing else of opsbench but its spec and verdict models: the compiler copies them, with
those models, into each task so Harbor grades in-container with the same code. Bump GRADER_VERSION when a verdict could change: it is part of every
task's checksum, so earlier trials become stale.
"""

GRADER_VERSION = "2"
