"""Read a package once into typed records every rule shares.

Each file is parsed with its own model; a file that does not parse is kept as an error
message on its record (the rule that owns it reports it), never raised. Jobs are the
package's top-level directories holding a `config.json` or trial directories; trials are
the `<task-id>__<attempt>` directories of a job, as `opsbench.paths` names them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from opsbench.models.job import JobConfig
from opsbench.models.result import TrialResult
from opsbench.models.submission import SubmissionMetadata
from opsbench.models.trial import TrialConfig
from opsbench.paths import JobPaths, TrialPaths, parse_trial_name
from opsbench.release import spec_digest
from opsbench.submission.files import PackageFiles, Unreadable

METADATA_FILE = "metadata.yaml"
M = TypeVar("M", bound=BaseModel)


def field_errors(exc: ValidationError) -> list[str]:
    """`loc.path: message` for every error of a pydantic validation."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "required field missing"
        out.append(f"{loc}: {msg}")
    return out


@dataclass
class Parsed(Generic[M]):
    """A package file read as model `M`: the value, or why it could not be."""

    rel: str
    value: M | None = None
    errors: list[str] = field(default_factory=list)


def parse_json(files: PackageFiles, rel: str, model: type[M]) -> Parsed[M]:
    try:
        return Parsed(rel, model.model_validate(files.read_json(rel)))
    except Unreadable as exc:
        return Parsed(rel, errors=[str(exc)])
    except ValidationError as exc:
        return Parsed(rel, errors=field_errors(exc))


@dataclass(frozen=True)
class TrialFiles:
    """A trial's artifacts as package-relative names (what rules report and
    `PackageFiles` reads), taken from `TrialPaths` once per trial."""

    config: str
    result: str
    log: str
    trajectory: str
    commands: str
    reward_txt: str
    reward_json: str
    grading_details: str
    evidence: str
    audit: str

    @classmethod
    def of(cls, trial_dir: str) -> TrialFiles:
        suffixes = _trial_suffixes()
        return cls(**{name: f"{trial_dir}/{suffix}" for name, suffix in suffixes.items()})


@cache
def _trial_suffixes() -> dict[str, str]:
    """Each artifact's path under a trial directory, as `TrialPaths` lays it out."""
    paths = TrialPaths(Path())
    return {f.name: getattr(paths, f.name).as_posix() for f in fields(TrialFiles)}


@dataclass
class Trial:
    job: str
    name: str
    task_id: str
    attempt: int
    rel: str
    """The trial directory, package-relative."""
    files: TrialFiles
    result: Parsed[TrialResult]
    config: Parsed[TrialConfig]

    @property
    def passed(self) -> bool:
        r = self.result.value
        return bool(r and r.rewards and r.rewards.passed)


@dataclass
class Job:
    name: str
    config: Parsed[JobConfig]
    trials: list[Trial]


@dataclass(frozen=True)
class GradedSpec:
    spec: dict[str, Any] | None = None
    digest: str | None = None


@dataclass
class Package:
    root: Path
    files: PackageFiles
    metadata: Parsed[SubmissionMetadata]
    metadata_raw: Any
    jobs: list[Job]

    _specs: dict[str, GradedSpec] = field(default_factory=dict, repr=False)

    @property
    def trials(self) -> list[Trial]:
        return [t for j in self.jobs for t in j.trials]

    def graded_spec(self, trial: Trial) -> GradedSpec:
        """The spec copy in the trial's evidence and its digest (read and hashed once)."""
        found = self._specs.get(trial.rel)
        if found is None:
            try:
                evidence = self.files.read_json(trial.files.evidence)
            except Unreadable:
                evidence = None
            spec = evidence.get("spec") if isinstance(evidence, dict) else None
            found = GradedSpec(spec, spec_digest(spec)) if isinstance(spec, dict) else GradedSpec()
            self._specs[trial.rel] = found
        return found


def load_package(root: Path) -> Package:
    files = PackageFiles.scan(root)
    metadata, raw = _metadata(files)
    jobs = [_job(files, name) for name in _job_names(files)]
    return Package(root, files, metadata, raw, jobs)


MAX_METADATA = 64 * 1024


def _metadata(files: PackageFiles) -> tuple[Parsed[SubmissionMetadata], Any]:
    import yaml

    if files.files.get(METADATA_FILE, 0) > MAX_METADATA:
        return Parsed(METADATA_FILE, errors=[f"larger than {MAX_METADATA:,} bytes"]), None
    try:
        text = files.read_text(METADATA_FILE)
        if any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=yaml.SafeLoader)):
            # Aliases can multiply a small file into an enormous document to validate.
            return Parsed(METADATA_FILE, errors=["YAML aliases (*name) are not allowed"]), None
        raw = yaml.safe_load(text)
    except Unreadable as exc:
        return Parsed(METADATA_FILE, errors=[str(exc)]), None
    except yaml.YAMLError as exc:
        return Parsed(METADATA_FILE, errors=[f"not valid YAML ({exc})"]), None
    try:
        return Parsed(METADATA_FILE, SubmissionMetadata.model_validate(raw)), raw
    except ValidationError as exc:
        return Parsed(METADATA_FILE, errors=field_errors(exc)), raw


def _job_names(files: PackageFiles) -> list[str]:
    tops = sorted(d for d in files.dirs if "/" not in d and not d.startswith("."))
    return [
        d
        for d in tops
        if files.has(f"{d}/{JobPaths(Path()).config.name}")
        or any(_is_trial_dir(files, d, sub) for sub in files.dirs)
    ]


def _is_trial_dir(files: PackageFiles, job: str, rel: str) -> bool:
    parent, _, name = rel.rpartition("/")
    return parent == job and parse_trial_name(name) is not None


def _job(files: PackageFiles, name: str) -> Job:
    config = parse_json(files, f"{name}/{JobPaths(Path()).config.name}", JobConfig)
    trials = []
    for trial_dir in sorted(d for d in files.dirs if _is_trial_dir(files, name, d)):
        trial_name = trial_dir.rpartition("/")[2]
        parsed = parse_trial_name(trial_name)
        assert parsed is not None  # _is_trial_dir checked it
        names = TrialFiles.of(trial_dir)
        trials.append(
            Trial(
                job=name,
                name=trial_name,
                task_id=parsed[0],
                attempt=parsed[1],
                rel=trial_dir,
                files=names,
                result=parse_json(files, names.result, TrialResult),
                config=parse_json(files, names.config, TrialConfig),
            )
        )
    return Job(name, config, trials)
