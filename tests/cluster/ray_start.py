"""`ray start` for the tests' cluster: `python -m tests.cluster.ray_start start ...`.

Ray turns `--node-ip-address=127.0.0.1` into the machine's outward address; the tests'
cluster must stay on loopback, so this keeps the address as given, then runs Ray's CLI.
"""

from __future__ import annotations

import sys


def main() -> None:
    import ray._private.services as services
    from ray.scripts.scripts import main as ray_main

    services.resolve_ip_for_localhost = lambda host: host
    sys.argv[0] = "ray"
    ray_main()


if __name__ == "__main__":
    main()
