"""The apply hash: a digest of everything that decides what an apply registers."""

import hashlib
import json
from collections.abc import Mapping

from featurestore_operator.repo_config import render_feature_store_yaml
from featurestore_operator.resources.pod import container_env, runner_image
from featurestore_operator.resources.spec import repo_source, runner_spec


def compute_apply_hash(fs: Mapping, files: Mapping[str, str], image: str) -> str:
    """Return the SHA-256 hex digest of what changes the outcome of an apply of `fs`.

    It covers the rendered feature_store.yaml, the definition `files`, the git
    url, ref and path, the runner image (spec.runner.image, else `image`) and
    the env and envFrom that the Job container gets. Runner resources,
    scheduling and retry settings are left out, because they do not change
    what gets registered.

    NOTE: for a git source the hash covers the ref's name, not the commit it
    points to. For a Secret it covers the name and key, not the value. So a new
    commit on a branch or a changed Secret does not change the hash.
    """
    runner = runner_spec(fs)
    kind, source = repo_source(fs)

    git = None
    if kind == "git":
        git = {"url": source["url"], "ref": source["ref"], "path": source["path"]}

    content = {
        "featureStoreYaml": render_feature_store_yaml(fs),
        "files": dict(files),
        "git": git,
        "image": runner_image(runner, image),
        "env": container_env(fs, runner),
        "envFrom": list(runner.get("envFrom") or []),
    }
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()
