"""The base image without a registry: debootstrap, then an import the engine accepts.

Every fresh machine of this project's kind takes this path (nothing can be pulled), so it
runs for real here, into a throwaway tag.
"""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

from opsbench.runtime import images
from opsbench.runtime.docker import client

TAG = "opsbench-debootstrap-test:bookworm"


def test_debootstrap_import_gives_a_runnable_debian() -> None:
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        reason = "building the base image needs root and Debian's debootstrap"
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to build the base image without a registry: {reason}")
        pytest.skip(reason)
    try:
        images._debootstrap_import(TAG)
        out = client().containers.run(TAG, ["cat", "/etc/debian_version"], remove=True)
        assert out.decode().strip().startswith("12.")
    finally:
        with contextlib.suppress(Exception):
            client().images.remove(TAG, force=True)


def test_present_base_image_is_not_rebuilt() -> None:
    assert images.ensure_upstream_base() == "present"
