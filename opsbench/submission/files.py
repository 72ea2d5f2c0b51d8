"""The files of a package, listed once without following a single symlink.

Every later read goes through `PackageFiles`: only paths listed here as regular files are
opened (with `O_NOFOLLOW`), so a symlink placed in a package, or a directory swapped for
one, can never make the validator read outside the package.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

MAX_READ = 64 * 1024 * 1024
"""Larger files are not parsed (a package is results, not data sets)."""


class Unreadable(Exception):
    """A package file that is missing, not a regular file, too large or not what it claims."""


M = TypeVar("M", bound=BaseModel)


@dataclass
class PackageFiles:
    root: Path
    files: dict[str, int] = field(default_factory=dict)
    """Regular files: package-relative POSIX path -> size in bytes."""
    dirs: set[str] = field(default_factory=set)
    symlinks: dict[str, str] = field(default_factory=dict)
    """Symlinks: path -> where they point (never followed)."""
    specials: list[str] = field(default_factory=list)
    """FIFOs, sockets, devices."""
    _bytes: dict[str, bytes] = field(default_factory=dict, repr=False)
    _json: dict[str, Any] = field(default_factory=dict, repr=False)
    _models: dict[tuple[str, type[BaseModel]], BaseModel] = field(default_factory=dict, repr=False)

    @classmethod
    def scan(cls, root: Path) -> PackageFiles:
        """List the tree (strings, not `Path`s: a package has tens of thousands of files)."""
        found = cls(root)
        top = str(root)
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            prefix = dirpath[len(top) + 1 :].replace(os.sep, "/")
            prefix = f"{prefix}/" if prefix else ""
            for name in [*dirnames, *filenames]:
                path = os.path.join(dirpath, name)
                rel = prefix + name
                info = os.lstat(path)
                if stat.S_ISLNK(info.st_mode):
                    found.symlinks[rel] = os.readlink(path)
                elif stat.S_ISDIR(info.st_mode):
                    found.dirs.add(rel)
                elif stat.S_ISREG(info.st_mode):
                    found.files[rel] = info.st_size
                else:
                    found.specials.append(rel)
        return found

    def has(self, rel: str) -> bool:
        return rel in self.files

    def read_bytes(self, rel: str) -> bytes:
        """The file's bytes, read once (every rule and the recomputation share them)."""
        cached = self._bytes.get(rel)
        if cached is not None:
            return cached
        if rel in self.symlinks:
            raise Unreadable("is a symlink, not a file")
        if rel not in self.files:
            raise Unreadable("missing")
        if self.files[rel] > MAX_READ:
            raise Unreadable(f"too large to read ({self.files[rel]:,} bytes)")
        fd = os.open(os.path.join(self.root, rel), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_READ + 1)
        self._bytes[rel] = data
        return data

    def read_text(self, rel: str) -> str:
        return self.read_bytes(rel).decode("utf-8", errors="replace")

    def read_json(self, rel: str) -> Any:
        """The parsed JSON, parsed once: callers must not change it."""
        if rel in self._json:
            return self._json[rel]
        try:
            data = json.loads(self.read_bytes(rel))
        except ValueError as exc:
            raise Unreadable(f"not valid JSON ({exc})") from None
        except RecursionError:
            raise Unreadable("JSON nested too deeply") from None
        self._json[rel] = data
        return data

    def read_model(self, rel: str, model: type[M]) -> M:
        """The file parsed as `model`, once; raises `Unreadable` or pydantic's error."""
        cached = self._models.get((rel, model))
        if cached is None:
            cached = model.model_validate_json(self.read_bytes(rel))
            self._models[(rel, model)] = cached
        assert isinstance(cached, model)
        return cached

    def outside(self, rel: str) -> bool:
        """Whether the symlink at `rel` points outside the package (resolved lexically)."""
        target = self.symlinks[rel]
        if os.path.isabs(target):
            return True
        joined = os.path.normpath(os.path.join(os.path.dirname(rel), target))
        return joined == ".." or joined.startswith("../")
