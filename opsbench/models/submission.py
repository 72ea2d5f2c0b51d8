"""Submission metadata: `metadata.yaml` of a leaderboard package.

Who ran what: the agent and the model with their display names, organisations and URLs,
and a contact. `benchmark` and `version` name the release the package was made for;
`opsbench submit` fills them in from the release when the input file leaves them out.
Strict (`extra="forbid"`) so a misspelt field is a rejection, not a silent blank on the
leaderboard. Its JSON Schema is exported to `schema/submission-metadata.schema.json`.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

METADATA_SCHEMA_VERSION = 1
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"
"""Agent and model names become the package directory `<agent>__<model>`."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s]+", value):
        raise ValueError(f"an http(s) URL, found {value!r}")
    return value


class Party(_Strict):
    """An agent or a model, as the leaderboard shows it."""

    name: str = Field(pattern=NAME_PATTERN, description="Short id, used in the package path.")
    display_name: str = Field(min_length=1)
    organisation: str = Field(min_length=1)
    url: str = Field(description="Homepage, paper or repository.")
    version: str = ""

    _check_url = field_validator("url")(_url)


class Contact(_Strict):
    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SubmissionMetadata(_Strict):
    schema_version: int = METADATA_SCHEMA_VERSION
    benchmark: str = Field(min_length=1, description="The release's benchmark name.")
    version: str = Field(min_length=1, description="The release's version.")
    agent: Party
    model: Party
    contact: Contact
    notes: str = ""

    @property
    def package_name(self) -> str:
        """`<agent>__<model>`: the package's directory name."""
        return f"{self.agent.name}__{self.model.name}"
