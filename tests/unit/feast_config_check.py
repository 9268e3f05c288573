"""Load feature_store.yaml files with Feast's own loader, one request per stdin line.

Run as a separate process by test_repo_config.py. Each stdin line is a JSON
object {"yaml": text, "env": {name: value}}; each stdout line is a JSON object
{"ok": true, "registry": ..., "online_store": ..., "offline_store": ...} or
{"ok": false, "error": message}.

The Redis, PostgreSQL and DuckDB drivers are not dependencies of this project,
but Feast's config classes for those stores live in modules that import them.
So a driver package that is not installed is replaced by an empty stand-in
module: Feast's config classes, with their real pydantic validation, then
import, and nothing here ever connects to a store.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import tempfile
import types
from pathlib import Path
from unittest import mock

DRIVER_PACKAGES = ("redis", "psycopg", "psycopg_pool", "duckdb", "ibis")


class _StandInModule(types.ModuleType):
    """A module whose every attribute is a MagicMock, and which is a package."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__path__ = []

    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        value = mock.MagicMock(name=f"{self.__name__}.{attribute}")
        setattr(self, attribute, value)
        return value


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, packages: set[str]):
        self.packages = packages

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in self.packages:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        return _StandInModule(spec.name)

    def exec_module(self, module):
        pass


def install_stand_ins() -> list[str]:
    missing = {name for name in DRIVER_PACKAGES if importlib.util.find_spec(name) is None}
    if missing:
        sys.meta_path.append(_StandInFinder(missing))
    return sorted(missing)


def load(text: str, env: dict[str, str]) -> dict:
    from feast.repo_config import load_repo_config

    os.environ.update(env)
    try:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "feature_store.yaml"
            path.write_text(text)
            config = load_repo_config(Path(directory), path)

            # The store configs are validated lazily, on first access.
            registry = config.registry
            online = config.online_store
            offline = config.offline_store
            return {
                "ok": True,
                "project": config.project,
                "registry": registry.model_dump(mode="json"),
                "online_store": online.model_dump(mode="json"),
                "offline_store": offline.model_dump(mode="json"),
                "entity_key_serialization_version": config.entity_key_serialization_version,
            }
    except Exception as error:  # any failure is the result of this request
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}
    finally:
        for name in env:
            os.environ.pop(name, None)


def main() -> None:
    stand_ins = install_stand_ins()
    print(json.dumps({"ready": True, "standIns": stand_ins}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        print(json.dumps(load(request["yaml"], request.get("env", {}))), flush=True)


if __name__ == "__main__":
    main()
