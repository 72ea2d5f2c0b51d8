"""Export the task-spec JSON Schema so editors validate specs as they are typed."""

from __future__ import annotations

import json
from typing import Any

from opsbench.models.spec import TaskSpec


def spec_schema() -> dict[str, Any]:
    schema = TaskSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "opsbench task spec"
    # Template specs put `matrix:`/`cases:` in a first YAML document; that document is
    # not a task, so editors only validate the task document.
    return schema


def render_schema() -> str:
    return json.dumps(spec_schema(), indent=2, sort_keys=True) + "\n"
