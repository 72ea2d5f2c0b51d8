"""`Gateway`: one job's model gateway container, its networks and its trial keys.

    gateway = Gateway(GatewaySpec(job="j", model="openai/gpt-4o", settings=settings))
    gateway.start()                      # image (cached), egress network, proxy, control
    env.connect(gateway.container_id, GATEWAY_ALIAS)   # into one trial's network
    lease = gateway.issue("task__1", usage)            # a virtual key for that trial
    lease.access                          # -> GatewayAccess for the agent
    gateway.revoke(lease)                 # the key stops working; usage is in `usage`
    gateway.close()                       # container, network, control server

Networks: the gateway container sits on its own *egress* network (a plain bridge with a
route out, to reach the provider and the driver's control server) and is joined to each
trial's network under the name `opsbench-gateway`. An `isolated` trial's firewall rules
(`opsbench.runtime.isolation`) match traffic entering from the trial's bridge, so the task
container reaches the gateway (same bridge) and still nothing else; the gateway's own
calls out leave through the egress bridge. The gateway does not forward packets
(`net.ipv4.ip_forward=0`), so it is no router for the task container.

Keys: the real provider key (`<PROVIDER>_API_KEY` from the driver's environment, or
`GatewaySpec.secrets`) is put into the gateway container's environment only. Trial keys
are random, issued and revoked by the driver's control server (`opsbench.gateway.control`);
the proxy checks each request with it (LiteLLM's `custom_auth`), so a revoked key fails on
its very next request. LiteLLM's own virtual keys need PostgreSQL and Prisma's engines
(downloaded at run time), which this project cannot fetch; the hook needs neither.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import secrets
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from opsbench.failures import InfraError
from opsbench.gateway.access import GatewayAccess
from opsbench.gateway.control import ControlServer, Lease
from opsbench.models.provider import ProviderSettings
from opsbench.models.result import UsageCounters
from opsbench.providers.errors import ProviderCallFailed
from opsbench.providers.llm import credential_env, provider_of
from opsbench.runtime.docker import client, labels
from opsbench.runtime.images import GATEWAY_IMAGE

log = logging.getLogger(__name__)

GATEWAY_ALIAS = "opsbench-gateway"
"""The gateway's name on every trial network."""
GATEWAY_PORT = 4000
ENVIRONMENT_DIR = Path(__file__).resolve().parents[2] / "environment"


@dataclass(frozen=True)
class GatewaySpec:
    """What one job's gateway serves."""

    job: str
    model: str
    """The job's `provider/model`: what every alias maps to."""
    settings: ProviderSettings = field(default_factory=ProviderSettings)
    aliases: tuple[str, ...] = ()
    """More model names agents may request (a CLI's fixed side-model); each maps to `model`."""
    secrets: dict[str, str] | None = None
    """The provider's credentials for the gateway's environment; default: the driver's
    `<PROVIDER>_API_KEY` (and `<PROVIDER>_API_BASE` when no api_base is set)."""
    start_timeout: float = 600.0
    """LiteLLM's proxy imports for ~10 CPU-seconds; on a loaded machine, minutes."""


@dataclass
class TrialLease:
    """One trial's key. `access` goes to the agent; `failure` is set when a call failed
    for good (the trial is then a provider_error, as for `sre`)."""

    lease: Lease
    access: GatewayAccess

    @property
    def usage(self) -> UsageCounters:
        return self.lease.usage

    @property
    def failure(self) -> ProviderCallFailed | None:
        return self.lease.failure


class Gateway:
    """The gateway of one job. Thread-safe after `start`: trials issue and revoke keys and
    connect to it concurrently."""

    def __init__(self, spec: GatewaySpec, environment_dir: Path = ENVIRONMENT_DIR) -> None:
        self.spec = spec
        self.environment_dir = environment_dir
        self.provider = provider_of(spec.model)
        suffix = hashlib.sha256(f"{os.getpid()}\0{spec.job}".encode()).hexdigest()[:10]
        self.name = f"opsbench-gw-{suffix}"
        self.network: Any = None
        self.container: Any = None
        self.control: ControlServer | None = None
        self.address = ""
        """The gateway's address on its egress network (the driver reaches it there)."""

    @property
    def container_id(self) -> str:
        if self.container is None:
            raise InfraError("the model gateway was not started")
        return str(self.container.id)

    @property
    def model_name(self) -> str:
        """What agents request: the job's model without its provider prefix."""
        return self.spec.model.split("/", 1)[1] if "/" in self.spec.model else self.spec.model

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Build (cached) and start the gateway; InfraError when it cannot serve."""
        from opsbench.runtime.images import ensure_gateway

        try:
            ensure_gateway(self.environment_dir)
            self._create_network()
            self.control = ControlServer(self._host_address(), self.provider, self.spec.settings)
            self._create_container()
            self._wait_ready(time.monotonic() + self.spec.start_timeout)
        except BaseException:
            self.close()
            raise
        log.info("model gateway %s ready at %s for %s", self.name, self.address, self.spec.model)

    def close(self) -> None:
        """Remove the container and the egress network, stop the control server.
        Idempotent; never raises."""
        import docker.errors

        if self.container is not None:
            try:
                self.container.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
            except Exception as exc:
                log.warning("gateway: removing %s: %s", self.name, exc)
            self.container = None
        if self.network is not None:
            try:
                self.network.remove()
            except docker.errors.NotFound:
                pass
            except Exception as exc:
                log.warning("gateway: removing its network: %s", exc)
            self.network = None
        if self.control is not None:
            self.control.close()
            self.control = None

    # ------------------------------------------------------------------ keys

    def issue(self, trial: str, usage: UsageCounters) -> TrialLease:
        """A new virtual key for `trial`; its calls are counted into `usage`."""
        if self.control is None:
            raise InfraError("the model gateway was not started")
        lease = self.control.issue(trial, usage)
        access = GatewayAccess(
            base_url=f"http://{GATEWAY_ALIAS}:{GATEWAY_PORT}",
            api_key=lease.key,
            model=self.model_name,
        )
        return TrialLease(lease, access)

    def revoke(self, lease: TrialLease) -> None:
        if self.control is not None:
            self.control.revoke(lease.lease)

    def usage(self, lease: TrialLease) -> UsageCounters:
        return lease.usage

    @property
    def url(self) -> str:
        """The gateway as the driver reaches it (tests, benchmarks): its egress address."""
        return f"http://{self.address}:{GATEWAY_PORT}"

    # ------------------------------------------------------------------ internals

    def _create_network(self) -> None:
        self.network = client().networks.create(
            f"{self.name}-egress",
            driver="bridge",
            labels=labels(self.spec.job, "", "gateway-egress"),
        )
        self.network.reload()

    def _host_address(self) -> str:
        """The host's address on the egress bridge: only the gateway's network reaches
        the control server there (isolated trials cannot reach the host at all)."""
        config = (self.network.attrs.get("IPAM") or {}).get("Config") or []
        for entry in config:
            gateway = entry.get("Gateway")
            if gateway and ":" not in gateway:
                return str(gateway)
        raise InfraError(f"network {self.network.name} has no IPv4 gateway address")

    def _create_container(self) -> None:
        assert self.control is not None
        environment = {
            **self._secrets(),
            "OPSBENCH_CONTROL_URL": self.control.url,
            "OPSBENCH_CONTROL_TOKEN": self.control.token,
            # Required for the proxy to boot; never handed out (every request goes
            # through the custom_auth hook instead).
            "LITELLM_MASTER_KEY": "sk-" + secrets.token_hex(24),
        }
        self.container = client().containers.create(
            GATEWAY_IMAGE,
            name=self.name,
            hostname=GATEWAY_ALIAS,
            labels=labels(self.spec.job, "", "gateway"),
            environment=environment,
            network=self.network.name,
            sysctls={"net.ipv4.ip_forward": "0"},
            init=True,
            detach=True,
        )
        self.container.put_archive("/opt/gateway", _tar({"config.yaml": self._config()}))
        self.container.start()
        self.container.reload()
        networks = self.container.attrs["NetworkSettings"]["Networks"]
        self.address = str(networks[self.network.name]["IPAddress"])

    def _secrets(self) -> dict[str, str]:
        if self.spec.secrets is not None:
            return dict(self.spec.secrets)
        return credential_env(self.spec.model, self.spec.settings.api_base)

    def _config(self) -> bytes:
        spec = self.spec
        base = spec.settings.api_base
        if base and _is_loopback(base):
            # The host's loopback is the gateway's own: an --api-base on this machine is
            # reached at the host's address on the egress bridge (the server must listen
            # there or on 0.0.0.0, not on 127.0.0.1 only).
            moved = _with_host(base, self._host_address())
            spec = replace(spec, settings=spec.settings.model_copy(update={"api_base": moved}))
        return yaml.safe_dump(proxy_config(spec, self._secrets()), sort_keys=False).encode()

    def _wait_ready(self, deadline: float) -> None:
        url = f"{self.url}/health/liveliness"
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            self.container.reload()
            if self.container.status not in {"created", "running"}:
                raise InfraError(f"the model gateway exited: {_tail(self.container)}")
            if time.monotonic() > deadline:
                raise InfraError(
                    f"the model gateway was not ready in {self.spec.start_timeout:g}s: "
                    + _tail(self.container)
                )
            time.sleep(0.2)


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "0.0.0.0", "::1")


def _with_host(url: str, host: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")))


def proxy_config(spec: GatewaySpec, provider_env: dict[str, str]) -> dict[str, Any]:
    """LiteLLM's proxy config: every alias -> the job's model, no retries of the SDK's
    own, the router retrying `max_retries` times (each attempt behind a driver permit),
    LiteLLM's cooldowns off (the driver's breaker decides), our hooks."""
    provider = provider_of(spec.model)
    params: dict[str, Any] = {
        "model": spec.model,
        "timeout": spec.settings.request_timeout,
        "max_retries": 0,
    }
    api_base = spec.settings.api_base
    if api_base:
        params["api_base"] = api_base
    key_name = f"{provider.upper().replace('-', '_')}_API_KEY"
    if key_name in provider_env:
        params["api_key"] = f"os.environ/{key_name}"  # resolved in the gateway: not in here
    names = [spec.model.split("/", 1)[-1], spec.model, *spec.aliases]
    unique = list(dict.fromkeys(names))
    return {
        "model_list": [{"model_name": n, "litellm_params": dict(params)} for n in unique],
        "litellm_settings": {
            "callbacks": "opsbench_gateway_hooks.limits",
            "num_retries": spec.settings.max_retries,
            "request_timeout": spec.settings.request_timeout,
            "drop_params": False,
        },
        "router_settings": {
            "num_retries": spec.settings.max_retries,
            "retry_after": 0,
            "disable_cooldowns": True,
        },
        "general_settings": {"custom_auth": "opsbench_gateway_hooks.user_api_key_auth"},
    }


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _tail(container: Any) -> str:
    try:
        text: bytes = container.logs(tail=30)
    except Exception:
        return ""
    return text.decode("utf-8", "replace").strip()[-1500:]
