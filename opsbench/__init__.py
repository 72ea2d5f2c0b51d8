"""opsbench: benchmark LLM agents on SRE and observability work."""

__version__ = "0.1.0"
