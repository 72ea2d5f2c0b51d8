"""What the model gateway adds to one model call: through it vs. to the scripted server.

    uv run python benchmarks/gateway_latency.py [--calls 60]

Starts the scripted OpenAI-compatible server on the docker bridge, a real gateway for a
throwaway job (LiteLLM's proxy in its container, with opsbench's hooks: the key check,
a permit from the driver's limiter before the upstream call, the outcome and usage
reported back), issues a trial key, and times the same chat completion both ways from this
process, alternating, over one kept-alive connection each. Target: the gateway adds
≤ 50 ms per call at the median. Prints figures; no pass/fail.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET_MS = 50.0


def _timed_call(conn: http.client.HTTPConnection, path: str, key: str, model: str) -> float:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]})
    t0 = time.perf_counter()
    conn.request(
        "POST",
        path,
        body=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    answer = conn.getresponse()
    payload = answer.read()
    elapsed = time.perf_counter() - t0
    if answer.status != 200:
        raise SystemExit(f"{path}: HTTP {answer.status}: {payload[:300]!r}")
    return elapsed * 1000


def _connection(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()

    from opsbench.gateway.gateway import Gateway, GatewaySpec
    from opsbench.models.provider import ProviderSettings
    from opsbench.models.result import UsageCounters
    from tests.fakes.openai_server import FakeOpenAIServer, docker_bridge_address, text_reply

    with FakeOpenAIServer(host=docker_bridge_address()) as server:
        server.default = lambda: text_reply("scripted")
        settings = ProviderSettings(api_base=server.url, min_request_interval=0)
        spec = GatewaySpec(
            job="bench-gateway-latency",
            model="openai/bench",
            settings=settings,
            secrets={"OPENAI_API_KEY": "sk-bench-not-a-secret"},
        )
        gateway = Gateway(spec)
        t0 = time.monotonic()
        gateway.start()
        started = time.monotonic() - t0
        try:
            usage = UsageCounters()
            lease = gateway.issue("bench__1", usage)
            direct = _connection(server.url)
            proxied = _connection(gateway.url)
            direct_ms: list[float] = []
            gateway_ms: list[float] = []
            for i in range(args.warmup + args.calls):
                d = _timed_call(direct, "/v1/chat/completions", "sk-direct", "bench")
                g = _timed_call(proxied, "/v1/chat/completions", lease.access.api_key, "bench")
                if i >= args.warmup:
                    direct_ms.append(d)
                    gateway_ms.append(g)
            gateway.revoke(lease)
        finally:
            gateway.close()
    added = statistics.median(gateway_ms) - statistics.median(direct_ms)
    print(f"gateway start (image cached): {started:.1f}s")
    print(f"calls: {args.calls} each way (after {args.warmup} warm-up)")
    for name, values in (("direct", direct_ms), ("via gateway", gateway_ms)):
        q = statistics.quantiles(values, n=10)
        print(
            f"{name:>12}: median {statistics.median(values):6.1f} ms, "
            f"p10 {q[0]:6.1f} ms, p90 {q[-1]:6.1f} ms"
        )
    print(f"added by the gateway at the median: {added:.1f} ms (target ≤ {TARGET_MS:g} ms)")
    print(f"usage counted for the trial: {usage.calls} calls, {usage.input_tokens} input tokens")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
