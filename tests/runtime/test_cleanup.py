"""Leftover cleanup sweeps what dead runs left and never touches a live job's containers."""

from __future__ import annotations

import socket

from opsbench.builtin_images import TASK_BASE
from opsbench.runtime.docker import (
    LABEL_JOB,
    LABEL_OWNER,
    client,
    labels,
    list_labelled,
    remove_leftovers,
)

JOB = "cleanup-test"


def test_dead_owners_are_swept_live_ones_kept(docker_images: None) -> None:
    c = client()
    dead = {**labels(JOB, "dead__1", "main"), LABEL_OWNER: f"{socket.gethostname()}:999999"}
    live = labels(JOB, "live__1", "main")  # this process: alive
    made = [
        c.containers.create(TASK_BASE, ["sleep", "60"], labels=dead),
        c.containers.create(TASK_BASE, ["sleep", "60"], labels=live),
    ]
    net = c.networks.create("opsbench-cleanup-test-net", labels=dead)
    try:
        report = remove_leftovers(JOB)
        assert (report.containers, report.networks) == (1, 1)
        left = list_labelled(JOB, "containers")
        assert [s["Labels"][LABEL_OWNER] for s in left] == [live[LABEL_OWNER]]
        assert list_labelled(JOB, "networks") == []
        assert all(s["Labels"][LABEL_JOB] == JOB for s in left)
    finally:
        for container in made:
            if _exists(container.id):
                container.remove(force=True)
        if any(n["Id"] == net.id for n in list_labelled(JOB, "networks")):
            net.remove()


def _exists(container_id: str) -> bool:
    return any(s["Id"] == container_id for s in list_labelled(JOB, "containers"))
