"""Pure builders: a custom object (a dict) in, a Kubernetes object (a plain dict) out.

Nothing here performs I/O or imports kopf, so every builder is unit-tested
without a cluster. Import the builders from their modules: spec (defaults),
names, labels, storage, configmap, hashing, jobs and materialization.
This package does not re-export them, because repo_config imports spec and
configmap imports repo_config, and re-exports here would make that a cycle.
"""
