"""An agent that tries to reach everything it should not (and its sidecar, which it should)."""

from __future__ import annotations

import json
import shlex

from opsbench.agent import Agent, AgentContext
from opsbench.sandbox import Sandbox

PROBE = r"""
import json, socket, struct, sys
targets = json.loads(sys.argv[1])
for line in open("/proc/net/route").read().splitlines()[1:]:
    iface, dest, gw, flags, _, _, _, mask = line.split()[:8]
    if iface == "eth0" and int(gw, 16) == 0:
        net = struct.unpack("<I", bytes.fromhex(dest))[0]  # stored little-endian
        targets["gateway"] = [socket.inet_ntoa(struct.pack(">I", net + 1)), targets["port"]]
        break
port = targets.pop("port")
seen = {}
for name, (host, p) in targets.items():
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((host, p))
        seen[name] = "open"
    except OSError as exc:
        seen[name] = "closed: " + type(exc).__name__
    finally:
        s.close()
seen["gateway address"] = targets["gateway"][0]
print(json.dumps(seen))
"""


class ReachProbe(Agent):
    name = "reach-probe"

    def run(self, instruction: str, sandbox: Sandbox, context: AgentContext) -> None:
        targets = shlex.quote(json.dumps(self.config.kwargs["targets"]))
        out = sandbox.exec(f"python3 -c {shlex.quote(PROBE)} {targets}", timeout=60, user="root")
        (context.logs_dir / "probe.json").write_text(out.stdout or json.dumps({"err": out.stderr}))
