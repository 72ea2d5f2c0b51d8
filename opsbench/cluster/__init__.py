"""The Ray executor: trials on the nodes of a Ray cluster, the job directory here.

Imported only when `--executor ray` is chosen (Ray is the optional `ray` extra).
Modules: `executor` (the driver side: placement, shipping, writing trials home),
`node` (what runs on a node: images, the trial, its directory as tar bytes), `limits`
(one actor holding provider limits and the cancel flag for the whole cluster), `bundle`
(directories as tar bytes, unpacked once per digest).
"""
