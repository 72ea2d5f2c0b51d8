"""The built-in `o11y` sidecar's data: a fictional shop's metrics and logs, and its story.

The runtime calls `prepare_o11y(cache_dir, scenario_time, seed)` and extracts the
returned archives into the sidecar (TSDB blocks, logs) and the task's main container
(`/var/log/apps/<service>.log`). Task specs, graders and tests read what happened from
`SCENARIO`. Importing this package is cheap: Docker is imported only to backfill.
"""

from opsbench.o11y.prepare import (
    LOGS_PORT,
    MAIN_LOG_DIR,
    PROMETHEUS_PORT,
    SIDECAR_DATA_DIR,
    SIDECAR_IMAGE,
    ContainerArchive,
    O11yData,
    prepare_o11y,
)
from opsbench.o11y.scenario import SCENARIO, SERVICES, Scenario

__all__ = [
    "LOGS_PORT",
    "MAIN_LOG_DIR",
    "PROMETHEUS_PORT",
    "SCENARIO",
    "SERVICES",
    "SIDECAR_DATA_DIR",
    "SIDECAR_IMAGE",
    "ContainerArchive",
    "O11yData",
    "Scenario",
    "prepare_o11y",
]
