"""Run Ray's CLI, or opsbench's, with Ray kept on loopback.

    python -m tests.cluster.loopback ray start ...
    python -m tests.cluster.loopback opsbench job ...

Ray turns a loopback address (`--node-ip-address=127.0.0.1`, `ray.init("127.0.0.1:…")`)
into the machine's outward address; the tests' cluster must stay on loopback, so here
the address is kept as given. Test support only: a real cluster has real addresses.
"""

from __future__ import annotations

import sys


def main() -> None:
    import ray._private.services as services

    services.resolve_ip_for_localhost = lambda host: host
    program = sys.argv.pop(1)
    sys.argv[0] = program
    if program == "ray":
        from ray.scripts.scripts import main as ray_main

        ray_main()
    else:
        from opsbench.cli import main as opsbench_main

        sys.exit(opsbench_main())


if __name__ == "__main__":
    main()
