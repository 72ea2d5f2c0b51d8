"""The red team: exploit agents that try to pass a task without solving it.

Each acts only through the sandbox handle, as a model could, and is selectable by name
like any agent (`--agent redteam-shotgun`). `opsbench validate` runs every exploit on every
task it applies to (`opsbench.redteam`); a task one of them passes is *hackable*.
"""
