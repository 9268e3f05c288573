"""Feature repo templates: the ready repos that `spec.repo.template` names.

Each template is a flat directory of definition files under the template root.
That root is the directory named by the environment variable
FEATURESTORE_TEMPLATE_DIR, or else feature_repo_template/ at the root of this
repository, which exists when the package is installed in editable mode.
"""

import os
import stat
from pathlib import Path

TEMPLATE_DIR_ENV = "FEATURESTORE_TEMPLATE_DIR"

# operator/featurestore_operator/templates.py -> the repository root.
_CHECKOUT_TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "feature_repo_template"


def template_root() -> Path:
    """Return the template root directory; raise FileNotFoundError when it does not exist."""
    configured = os.environ.get(TEMPLATE_DIR_ENV)
    root = Path(configured) if configured else _CHECKOUT_TEMPLATE_DIR

    if not root.is_dir():
        source = f"{TEMPLATE_DIR_ENV}={configured}" if configured else "the checkout's default"
        raise FileNotFoundError(
            f"template directory {str(root)!r} ({source}) does not exist: set "
            f"{TEMPLATE_DIR_ENV} to the directory that holds the feature repo templates"
        )
    return root


def template_names() -> list[str]:
    """Return the sorted names of the templates: the subdirectories of the template root."""
    root = template_root()
    return sorted(
        entry.name
        for entry in root.iterdir()
        if entry.is_dir() and not entry.is_symlink() and not entry.name.startswith(".")
    )


def read_template(name: str) -> dict[str, str]:
    """Read template `name` as {file name: text}.

    Only regular files directly in the template's directory are read.
    Subdirectories (such as __pycache__) and symbolic links are skipped.
    Raises LookupError for an unknown template and ValueError for a file that
    is not UTF-8 text.
    """
    names = template_names()
    if name not in names:
        raise LookupError(
            f"template {name!r} is unknown: use one of {', '.join(names) or '(none found)'} "
            f"in {template_root()}"
        )

    files = {}
    for path in sorted((template_root() / name).iterdir()):
        if not stat.S_ISREG(path.lstat().st_mode):
            continue
        try:
            files[path.name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"template file {str(path)!r} is not UTF-8 text ({error}): keep only "
                f"definition files in a template"
            ) from error
    return files
