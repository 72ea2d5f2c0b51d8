"""The Ray executor: trials on the nodes of a Ray cluster, the job directory here.

Imported only when `--executor ray` is chosen (Ray is the optional `ray` extra).
Modules: `executor` (the driver side: placement, shipping, writing trials home),
`node` (what runs on a node: images, the trial, its directory as tar bytes), `limits`
(one actor holding provider limits and the cancel flag for the whole cluster), `bundle`
(directories as tar bytes, unpacked once per digest).
"""

import os

# Ray reads this when it is imported. Left on, a driver started by `uv run` (as
# `./opsbenchw` and most users start opsbench) makes Ray start every worker with
# `uv run --frozen` in a copy of the driver's working directory, which fails wherever that
# directory is not a uv project — the workers never register and the job hangs. Nodes run
# opsbench from their own environment instead (README, "Running on Ray").
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
