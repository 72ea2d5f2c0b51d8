"""The one place LiteLLM is imported: lazily, with the local model cost map.

LiteLLM takes seconds to import and, unless told otherwise, fetches its model cost map
over the network at import. Commands that call no model must not pay for either, so no
module imports it at top level; they call `load_litellm()` when they need it.
"""

from __future__ import annotations

import importlib
import os
import threading
from typing import Any

_lock = threading.Lock()
_module: Any = None


def load_litellm() -> Any:
    """Import LiteLLM once (thread-safe), offline cost map, quiet debug banners."""
    global _module
    if _module is not None:
        return _module
    with _lock:
        if _module is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            litellm: Any = importlib.import_module("litellm")
            litellm.suppress_debug_info = True
            _module = litellm
    return _module


def provider_of(model: str) -> str:
    """The provider prefix LiteLLM routes `model` by (`openai` in `openai/gpt-4o`)."""
    if "/" in model:
        return model.split("/", 1)[0]
    try:
        return str(load_litellm().get_llm_provider(model)[1])
    except Exception:
        return "default"


def credential_env(model: str, api_base: str | None = None) -> dict[str, str]:
    """`model`'s provider credentials from this process's environment and nothing else
    of it: `<PROVIDER>_API_KEY`, and `<PROVIDER>_API_BASE` when no api_base is set. What
    the model gateway's container and a Ray node's runner are handed."""
    prefix = provider_of(model).upper().replace("-", "_")
    names = [f"{prefix}_API_KEY"] + ([] if api_base else [f"{prefix}_API_BASE"])
    return {name: os.environ[name] for name in names if os.environ.get(name)}
