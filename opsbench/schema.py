"""Export the JSON Schemas of the hand-written file formats, so editors validate them as
they are typed: task specs and submission metadata (`schema/`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from opsbench.models.spec import TaskSpec
from opsbench.models.submission import SubmissionMetadata

SUBMISSION_SCHEMA_FILE = "submission-metadata.schema.json"


def spec_schema() -> dict[str, Any]:
    schema = TaskSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "opsbench task spec"
    # Template specs put `matrix:`/`cases:` in a first YAML document; that document is
    # not a task, so editors only validate the task document.
    return schema


def submission_schema() -> dict[str, Any]:
    schema = SubmissionMetadata.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "opsbench submission metadata (metadata.yaml)"
    return schema


def _render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def render_schema() -> str:
    return _render(spec_schema())


def render_submission_schema() -> str:
    return _render(submission_schema())


EXTRA_SCHEMAS: dict[str, Callable[[], str]] = {SUBMISSION_SCHEMA_FILE: render_submission_schema}
"""Schemas written next to the task-spec schema, by file name."""
