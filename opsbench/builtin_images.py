"""Names of the shared images and built-in sidecars. Data only: no Docker here.

The compiler writes these names into generated tasks; `setup:preflight` builds the images
from `environment/`. Bump a tag's version when its build context changes incompatibly.
"""

from __future__ import annotations

from dataclasses import dataclass

UPSTREAM_BASE = "debian:bookworm-slim"
"""Pulled when a registry is reachable; otherwise built with debootstrap and tagged so."""

TASK_BASE = "opsbench-base:2"
"""Every task's Dockerfile starts FROM this (common tools, python3, the CA bundle)."""


VERIFIER_IMAGE = "opsbench-verifier:1"
"""The trusted verifier: opsbench's own tools, joined to a trial only to grade it."""
VERIFIER_CONTEXT = "verifier"
"""Its build context under `environment/`."""


@dataclass(frozen=True)
class SidecarSpec:
    name: str
    image: str
    port: int
    healthcheck: list[str]
    context: str
    """Build context under `environment/`."""


BUILTIN_SIDECARS: dict[str, SidecarSpec] = {
    "o11y": SidecarSpec(
        name="o11y",
        image="opsbench-sidecar-o11y:2",
        port=9090,
        healthcheck=["CMD", "/opt/o11y/healthcheck.sh"],
        context="sidecar",
    ),
}
