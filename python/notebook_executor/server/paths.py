"""Paths in REST requests are relative to the server's root dir (as in Jupyter's contents
API) and must stay in it: a ``..`` part, an absolute path outside the root, or a symlink
that leads out of it is refused."""

from __future__ import annotations

import functools
import os
import posixpath

from .errors import BadRequest


class RootDir:
    def __init__(self, root: str):
        self.real = os.path.realpath(os.path.expanduser(root))

    def resolve(self, path: object, field: str) -> str:
        """The real absolute path of ``path`` (which need not exist) inside the root."""
        if not isinstance(path, str) or not path.strip():
            raise BadRequest(f"{field}: give a path relative to the server's root", field=field)
        if "\x00" in path:
            raise BadRequest(f"{field}: a path cannot hold a NUL character", field=field)
        parts = path.replace("\\", "/").split("/")
        if ".." in parts:
            raise BadRequest(f"{field}: {path!r} has a '..' part; give a path inside the server's root", field=field)
        candidate = path if os.path.isabs(path) else os.path.join(self.real, path)
        real = os.path.realpath(candidate)
        if real != self.real and os.path.commonpath([real, self.real]) != self.real:
            raise BadRequest(f"{field}: {path!r} is outside the server's root", field=field)
        return real

    def notebook(self, path: object, field: str = "input_notebook") -> str:
        real = self.resolve(path, field)
        if not os.path.isfile(real):
            raise BadRequest(f"{field}: no notebook at {path!r}", field=field)
        return real

    def folder(self, path: object, field: str) -> str:
        """A folder inside the root (it may not exist yet; then it is created when used)."""
        real = self.resolve(path, field)
        # The folder, or the nearest part of it that exists, must be a folder.
        existing = real
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            raise BadRequest(f"{field}: {path!r} is a file, not a folder", field=field)
        return real

    def relative(self, path: str) -> str:
        """``path`` as the UI names it (relative to the root, '/'-separated) when it is in
        the root; else unchanged. A string check first: paths from REST submissions were
        stored resolved (this runs for every row of every listing)."""
        if not path or not os.path.isabs(path):
            return path
        prefix = self.real + os.sep
        if path.startswith(prefix):
            return path[len(prefix):].replace(os.sep, "/")
        return self._relative_resolved(path)

    @functools.lru_cache(maxsize=4096)
    def _relative_resolved(self, path: str) -> str:
        # Paths from the CLI or the Python API are absolute but may go through symlinks.
        real = os.path.realpath(path)
        if real == self.real or os.path.commonpath([real, self.real]) != self.real:
            return path
        return posixpath.join(*os.path.relpath(real, self.real).split(os.sep))
