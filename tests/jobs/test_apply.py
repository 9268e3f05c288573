"""The apply task on real Feast: templates, sync, broken definitions, config errors, limits."""

from __future__ import annotations

import json
import textwrap

from featurestore_operator import api
from featurestore_operator.jobs.result import TERMINATION_MESSAGE_MAX_BYTES
from tests.jobs.support import (
    BREAST_CANCER_VIEWS,
    copy_breast_cancer_data,
    make_source,
    registered_feature_views,
)


def test_breast_cancer_template_applies(workspace, apply_task, prepared_data):
    repo = workspace / "repo"
    copy_breast_cancer_data(prepared_data, repo)
    source = make_source(workspace / "source", "breast_cancer", "breast_cancer")

    run = apply_task(source)

    assert run.returncode == api.EXIT_OK, run.stdout
    result = run.result
    assert result["ok"] is True
    assert result["task"] == "apply"
    assert result["project"] == "breast_cancer"
    assert result["featureViews"] == BREAST_CANCER_VIEWS
    assert result["entities"] == ["patient"]
    assert len(result["dataSources"]) == 5
    assert result["feastVersion"] == "0.67.0"
    assert "sourceRevision" not in result
    assert run.stdout_result == result
    assert registered_feature_views(repo) == BREAST_CANCER_VIEWS


def test_minimal_template_applies_on_empty_repo(workspace, apply_task):
    source = make_source(workspace / "source", "minimal", "minimal")

    run = apply_task(source)

    assert run.returncode == api.EXIT_OK, run.stdout
    assert run.result["featureViews"] == ["driver_stats"]
    assert run.result["entities"] == ["driver"]
    assert registered_feature_views(workspace / "repo") == ["driver_stats"]


def test_apply_removes_deleted_definition_file(workspace, apply_task):
    repo = workspace / "repo"
    source = make_source(workspace / "source", "minimal", "minimal")
    (source / "extra.py").write_text(
        textwrap.dedent(
            """
            from datetime import timedelta
            from feast import FeatureView, Field
            from feast.types import Float32
            from features import driver, driver_stats_source

            driver_extra = FeatureView(
                name="driver_extra",
                entities=[driver],
                ttl=timedelta(days=1),
                schema=[Field(name="acc_rate", dtype=Float32)],
                source=driver_stats_source,
            )
            """
        )
    )
    first = apply_task(source)
    assert first.returncode == api.EXIT_OK, first.stdout
    assert first.result["featureViews"] == ["driver_extra", "driver_stats"]

    # Files that the sync never wrote: data and a user's notes.
    (repo / "data" / "driver_stats.parquet").write_bytes(b"not really parquet")
    (repo / "notes.txt").write_text("keep me")
    (source / "extra.py").unlink()

    second = apply_task(source)

    assert second.returncode == api.EXIT_OK, second.stdout
    assert not (repo / "extra.py").exists()
    assert (repo / "features.py").exists()
    assert (repo / "data" / "driver_stats.parquet").read_bytes() == b"not really parquet"
    assert (repo / "notes.txt").read_text() == "keep me"
    assert (repo / "data" / "registry.db").exists()
    assert second.result["featureViews"] == ["driver_stats"]
    synced = json.loads((repo / ".featurestore" / "synced-files.json").read_text())
    assert synced["files"] == ["feature_store.yaml", "features.py"]


def test_broken_definition_keeps_registry(workspace, apply_task):
    repo = workspace / "repo"
    source = make_source(workspace / "source", "minimal", "minimal")
    good = apply_task(source)
    assert good.returncode == api.EXIT_OK, good.stdout

    (source / "features.py").write_text(
        (source / "features.py").read_text()
        + "\n\nbroken_view = FeatureView(name='broken', entities=[driver], source=missing_source)\n"
    )
    broken_line = (source / "features.py").read_text().splitlines().index(
        "broken_view = FeatureView(name='broken', entities=[driver], source=missing_source)"
    ) + 1

    run = apply_task(source)

    assert run.returncode == api.EXIT_USER_ERROR
    result = run.result
    assert result["ok"] is False
    assert result["reason"] == "DefinitionError"
    assert result["file"] == "features.py"
    assert result["line"] == broken_line
    assert "NameError" in result["message"]
    assert "missing_source" in result["message"]
    assert registered_feature_views(repo) == ["driver_stats"]


def test_syntax_error_reports_file_and_line(workspace, apply_task):
    source = make_source(workspace / "source", None, "syntax")
    (source / "views.py").write_text("from feast import Entity\n\nentity = Entity(name='x'\n")

    run = apply_task(source)

    assert run.returncode == api.EXIT_USER_ERROR
    assert run.result["reason"] == "DefinitionError"
    assert run.result["file"] == "views.py"
    assert run.result["line"] == 3
    assert "SyntaxError" in run.result["message"]
    assert not (workspace / "repo" / "data" / "registry.db").exists()


def test_invalid_config_value_names_key(workspace, apply_task):
    source = make_source(workspace / "source", "minimal", "minimal")
    (source / "feature_store.yaml").write_text(
        (source / "feature_store.yaml").read_text().replace(
            "  path: data/online_store.db\n", "  path: data/online_store.db\n  vector_enabled: maybe\n"
        )
    )

    run = apply_task(source)

    assert run.returncode == api.EXIT_USER_ERROR
    assert run.result["reason"] == "InvalidConfig"
    assert run.result["key"] == "online_store.vector_enabled"
    assert "online_store.vector_enabled" in run.result["message"]
    assert "'maybe'" in run.result["message"]
    # The sync wrote nothing, because the config is checked first.
    assert not (workspace / "repo" / "features.py").exists()


def test_termination_message_fits_many_views(workspace, apply_task):
    source = make_source(workspace / "source", None, "many")
    view_count = 150
    definitions = [
        "from datetime import timedelta",
        "from feast import Entity, FeatureView, Field, FileSource, ValueType",
        "from feast.types import Float32, Int64",
        "item = Entity(name='item', join_keys=['item_id'], value_type=ValueType.INT64)",
        "source = FileSource(name='items', path='data/items.parquet', timestamp_field='ts')",
    ]
    for index in range(view_count):
        definitions.append(
            f"view_{index} = FeatureView(name='a_rather_long_feature_view_name_{index:04d}', "
            "entities=[item], ttl=timedelta(days=1), source=source, "
            "schema=[Field(name='item_id', dtype=Int64), Field(name='value', dtype=Float32)])"
        )
    (source / "views.py").write_text("\n".join(definitions) + "\n")

    run = apply_task(source)

    assert run.returncode == api.EXIT_OK, run.stdout
    assert len(run.termination_message.encode("utf-8")) <= TERMINATION_MESSAGE_MAX_BYTES
    result = run.result
    assert result["truncated"] is True
    assert result["totals"]["featureViews"] == view_count
    assert 0 < len(result["featureViews"]) < view_count
    assert result["entities"] == ["item"]
    assert len(run.stdout_result["featureViews"]) == view_count


def test_import_error_in_subdirectory(workspace, apply_task):
    source = make_source(workspace / "source", "minimal", "minimal")
    (source / "teams").mkdir()
    (source / "teams" / "views.py").write_text("import os\n\nimport no_such_module\n")

    run = apply_task(source)

    assert run.returncode == api.EXIT_USER_ERROR
    assert run.result["reason"] == "DefinitionError"
    assert run.result["file"] == "teams/views.py"
    assert run.result["line"] == 3
    assert "no_such_module" in run.result["message"]
