"""Time an installed agent's image layer: cold (no cache at all, as CI on a fresh
machine) and warm (the digest-cached layer a later trial reuses).

    uv run python benchmarks/agent_install.py --agent opencode [--task log-dir-permissions-billing]

The task's image must exist (any trial of the task builds it). The cold build goes to a
throwaway tag, built with Docker's cache off, and is removed afterwards; the warm figure
is `ensure_agent_image` finding the cached layer. Prints figures; no pass/fail.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from opsbench.agent import resolve_agent
from opsbench.runtime.docker import client
from opsbench.runtime.images import context_digest, ensure_agent_image


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agent", required=True)
    parser.add_argument("--task", default="log-dir-permissions-billing")
    args = parser.parse_args()
    layer = resolve_agent(args.agent).install_layer({})
    assert layer is not None, f"{args.agent} is not an installed agent"
    images = client().images.list(name=f"opsbench-task-{args.task}")
    if not images:
        raise SystemExit(f"no image of {args.task}: run one trial of it first")
    base = images[0].tags[0]
    tag = f"opsbench-bench-agent-{args.agent}:cold"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "Dockerfile").write_text(layer.dockerfile)
        t0 = time.monotonic()
        for chunk in client().api.build(
            path=tmp,
            tag=tag,
            nocache=True,
            rm=True,
            decode=True,
            buildargs={"BASE": base},
            labels={"opsbench.bench": context_digest(Path(tmp))},
        ):
            if "error" in chunk:
                raise SystemExit(chunk["error"])
        cold = time.monotonic() - t0
    size_mb = client().images.get(tag).attrs["Size"] / 1e6
    client().images.remove(tag, force=True)
    t0 = time.monotonic()
    ensure_agent_image(base, layer.agent, layer.version, layer.dockerfile, 3600)
    warm_first = time.monotonic() - t0
    t0 = time.monotonic()
    ensure_agent_image(base, layer.agent, layer.version, layer.dockerfile, 3600)
    warm = time.monotonic() - t0
    print(f"{args.agent} {layer.version} over {base}")
    print(f"  cold build (no cache):     {cold:7.1f} s   image {size_mb:,.0f} MB")
    print(f"  ensure (built if missing): {warm_first:7.1f} s")
    print(f"  ensure (cached layer):     {warm:7.3f} s")


if __name__ == "__main__":
    main()
