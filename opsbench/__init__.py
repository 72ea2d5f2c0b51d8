"""opsbench: benchmark LLM agents on SRE and observability work.

`opsbench.open(task)` (a `Session`, see `opsbench.session`) loads on first use, so
`import opsbench` stays as light as the command line needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Session", "__version__", "open"]

if TYPE_CHECKING:
    from opsbench.session import Session as Session
    from opsbench.session import open_session as open


def __getattr__(name: str) -> Any:
    if name == "open":
        from opsbench.session import open_session

        return open_session
    if name == "Session":
        from opsbench.session import Session

        return Session
    raise AttributeError(f"module 'opsbench' has no attribute {name!r}")
