"""The gateway of each running job in this process: started by its first trial that needs
one, shared by the job's later trials, closed when the job's run ends.

Lazily started, so a job whose agent calls no model from its container never builds or
starts a gateway; `opsbench.jobrun.execute` closes them (and tests that run trials one by
one call `close_gateways`); whatever is still open when the process exits is closed then.
"""

from __future__ import annotations

import atexit
import threading

from opsbench.gateway.gateway import Gateway, GatewaySpec
from opsbench.models.provider import ProviderSettings

_lock = threading.Lock()
_starting: dict[str, threading.Lock] = {}
_gateways: dict[str, Gateway] = {}


def gateway_for(job: str, model: str, settings: ProviderSettings) -> Gateway:
    """The job's gateway, started now if it is the first trial to ask (InfraError if it
    cannot start: that trial is an infra_error, the next one tries again)."""
    with _lock:
        job_lock = _starting.setdefault(job, threading.Lock())
    with job_lock:
        gateway = _gateways.get(job)
        if gateway is None:
            gateway = Gateway(GatewaySpec(job=job, model=model, settings=settings))
            gateway.start()
            if not _gateways:  # a process that started gateways removes them as it exits
                atexit.register(close_gateways)
            _gateways[job] = gateway
        return gateway


def close_gateways(job: str | None = None) -> None:
    """Close the gateway of `job` (every job's when None). Never raises."""
    with _lock:
        names = [job] if job is not None else list(_gateways)
        closing = [g for n in names if (g := _gateways.pop(n, None)) is not None]
    for gateway in closing:
        gateway.close()
