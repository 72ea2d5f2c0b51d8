"""`opsbench preflight`: everything a run needs from Docker, made ready once.

Checks the engine, makes the upstream base image available (pull, or debootstrap when no
registry answers), builds opsbench-base with the CA bundle and the built-in sidecar images,
and removes containers and networks left by killed runs. A second run finds everything in
place and takes seconds.
"""

from __future__ import annotations

import argparse
import time

from opsbench.paths import ProjectPaths, find_root


def run(args: argparse.Namespace) -> int:
    from opsbench.builtin_images import TASK_BASE, UPSTREAM_BASE, VERIFIER_IMAGE
    from opsbench.runtime import images
    from opsbench.runtime.docker import remove_leftovers
    from opsbench.runtime.engine_doctor import engine_client

    start = time.monotonic()
    paths = ProjectPaths(find_root())
    version = engine_client(args.repair, print).version()
    print(f"docker engine {version.get('Version')} (API {version.get('ApiVersion')})")
    cleaned = remove_leftovers()
    if cleaned.containers or cleaned.networks:
        print(f"removed {cleaned.containers} leftover containers, {cleaned.networks} networks")
    how = images.ensure_upstream_base()
    print(f"{UPSTREAM_BASE}: {how}")
    bundle = images.resolve_ca_bundle(args.ca_bundle)
    built = images.ensure_task_base(paths.environment, bundle)
    print(f"{TASK_BASE}: {'built' if built else 'up to date'} (CA bundle: {bundle or 'none'})")
    for tag in images.ensure_sidecars(paths.environment):
        print(f"{tag}: built")
    if images.ensure_verifier(paths.environment):
        print(f"{VERIFIER_IMAGE}: built")
    print(f"preflight ok in {time.monotonic() - start:.1f}s")
    return 0
