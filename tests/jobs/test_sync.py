"""Collecting source files and syncing them into a repo without touching other files."""

from __future__ import annotations

import json
import os

from featurestore_operator.jobs.sync import collect_files, read_manifest, sync_files


def configmap_volume(root, files: dict[str, str]):
    """Lay out files as Kubernetes mounts a ConfigMap: keys link through ..data to a timestamped dir."""
    versioned = root / "..2024_01_01_00_00_00.000000001"
    versioned.mkdir(parents=True)
    for name, content in files.items():
        (versioned / name).write_text(content)
    os.symlink(versioned.name, root / "..data")
    for name in files:
        os.symlink(f"..data/{name}", root / name)
    return root


def test_configmap_volume_collects_keys(tmp_path):
    source = configmap_volume(
        tmp_path / "source",
        {"feature_store.yaml": "project: x\n", "features.py": "x = 1\n", "more.py": "y = 2\n"},
    )

    files = collect_files(source)

    assert sorted(files) == ["features.py", "more.py"]
    assert files["features.py"].read_text() == "x = 1\n"


def test_collect_skips_links_outside_and_git(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the repo")
    source = tmp_path / "source"
    (source / ".git").mkdir(parents=True)
    (source / ".git" / "config").write_text("[core]\n")
    (source / "nested").mkdir()
    (source / "nested" / "views.py").write_text("z = 3\n")
    (source / "nested" / "feature_store.yaml").write_text("kept: below the top\n")
    os.symlink(outside, source / "leak.txt")

    files = collect_files(source)

    assert sorted(files) == ["nested/feature_store.yaml", "nested/views.py"]


def test_sync_removes_only_stale_synced_files(tmp_path):
    repo = tmp_path / "repo"
    source = tmp_path / "source"
    source.mkdir()
    (source / "a.py").write_text("a = 1\n")
    (source / "b.py").write_text("b = 1\n")
    (repo / "data").mkdir(parents=True)
    (repo / "data" / "table.parquet").write_bytes(b"data")

    first = sync_files(repo, collect_files(source))
    (source / "b.py").unlink()
    second = sync_files(repo, collect_files(source))

    assert first.written == ["a.py", "b.py"]
    assert second.unchanged == ["a.py"]
    assert second.removed == ["b.py"]
    assert not (repo / "b.py").exists()
    assert (repo / "data" / "table.parquet").read_bytes() == b"data"
    assert read_manifest(repo) == ["a.py"]


def test_sync_never_writes_protected_files(tmp_path):
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    registry = repo / "data" / "registry.db"
    registry.write_bytes(b"registry")
    source = tmp_path / "source"
    (source / "data").mkdir(parents=True)
    (source / "data" / "registry.db").write_bytes(b"from the source")
    (source / "features.py").write_text("x = 1\n")

    report = sync_files(repo, collect_files(source), protected=frozenset({registry}))

    assert report.skipped == ["data/registry.db"]
    assert registry.read_bytes() == b"registry"


def test_manifest_ignores_paths_outside_repo(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".featurestore").mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (repo / ".featurestore" / "synced-files.json").write_text(
        json.dumps({"files": ["../victim.txt", "/etc/hostname", "a.py"]})
    )

    report = sync_files(repo, {})

    assert victim.read_text() == "keep"
    assert report.removed == []
