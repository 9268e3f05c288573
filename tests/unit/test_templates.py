"""Loading feature repo templates from the template directory."""

import os

import pytest

from featurestore_operator import templates
from featurestore_operator.repo_config import FEATURE_STORE_YAML


@pytest.fixture
def template_dir(tmp_path, monkeypatch):
    """A template root with two templates, set through FEATURESTORE_TEMPLATE_DIR."""
    (tmp_path / "minimal").mkdir()
    (tmp_path / "minimal" / "features.py").write_text("# minimal\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "a.py").write_text("# a\n")
    (tmp_path / "other" / "b.py").write_text("# b\n")
    (tmp_path / "README.md").write_text("not a template\n")
    monkeypatch.setenv(templates.TEMPLATE_DIR_ENV, str(tmp_path))
    return tmp_path


def test_template_names_from_env_dir(template_dir):
    assert templates.template_names() == ["minimal", "other"]


def test_read_template_files(template_dir):
    assert templates.read_template("other") == {"a.py": "# a\n", "b.py": "# b\n"}


def test_read_template_skips_directories_and_symlinks(template_dir):
    (template_dir / "other" / "__pycache__").mkdir()
    (template_dir / "other" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\x00")
    os.symlink(template_dir / "minimal" / "features.py", template_dir / "other" / "link.py")

    assert sorted(templates.read_template("other")) == ["a.py", "b.py"]


def test_unknown_template_names_existing(template_dir):
    with pytest.raises(LookupError, match="'fraud' is unknown: use one of minimal, other"):
        templates.read_template("fraud")


def test_template_name_cannot_leave_root(template_dir):
    with pytest.raises(LookupError, match="is unknown"):
        templates.read_template("../" + template_dir.name + "/minimal")


def test_binary_template_file_rejected(template_dir):
    (template_dir / "other" / "data.bin").write_bytes(b"\xff\xfe\x00")

    with pytest.raises(ValueError, match="data.bin.*not UTF-8"):
        templates.read_template("other")


def test_missing_template_dir_names_env(tmp_path, monkeypatch):
    monkeypatch.setenv(templates.TEMPLATE_DIR_ENV, str(tmp_path / "absent"))

    with pytest.raises(FileNotFoundError, match="FEATURESTORE_TEMPLATE_DIR"):
        templates.template_names()


def test_checkout_templates(monkeypatch):
    monkeypatch.delenv(templates.TEMPLATE_DIR_ENV, raising=False)

    assert {"minimal", "breast_cancer"} <= set(templates.template_names())
    for name in ("minimal", "breast_cancer"):
        files = templates.read_template(name)
        assert any(file_name.endswith(".py") for file_name in files), name
        # The operator renders feature_store.yaml; a template must not ship one.
        assert FEATURE_STORE_YAML not in files, name
