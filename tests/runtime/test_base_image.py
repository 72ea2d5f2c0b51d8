"""The base image without a registry: debootstrap, then an import the engine accepts.

Every fresh machine of this project's kind takes this path (nothing can be pulled), so it
runs for real here, into a throwaway tag.
"""

from __future__ import annotations

import os
import shutil

import pytest

from opsbench.runtime import images
from opsbench.runtime.docker import client

TAG = "opsbench-debootstrap-test:bookworm"


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("debootstrap") is None,
    reason="debootstrap needs root and Debian's debootstrap package",
)
def test_debootstrap_import_gives_a_runnable_debian() -> None:
    if os.environ.get("CI") and (os.geteuid() != 0 or shutil.which("debootstrap") is None):
        pytest.fail("CI must be able to build the base image without a registry")
    try:
        images._debootstrap_import(TAG)
        out = client().containers.run(TAG, ["cat", "/etc/debian_version"], remove=True)
        assert out.decode().strip().startswith("12.")
    finally:
        try:
            client().images.remove(TAG, force=True)
        except Exception:
            pass


def test_present_base_image_is_not_rebuilt() -> None:
    assert images.ensure_upstream_base() == "present"
