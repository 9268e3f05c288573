"""Import a feature repo's definition files and locate the errors in them.

Feast's parse_repo imports every .py file under the repo (except those that
.feastignore lists) and collects the Feast objects that the modules define.
Any exception raised while importing is the user's code failing, so it
becomes a DefinitionError that names the file and line.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

from feast.project import Project
from feast.repo_config import RepoConfig
from feast.repo_contents import RepoContents
from feast.repo_operations import parse_repo

from featurestore_operator.jobs.result import (
    REASON_DEFINITION_ERROR,
    TaskFailure,
    describe_error,
)

FIX_HINT = "Fix the definition in the source and apply again."


def locate_error(error: BaseException, repo: Path) -> tuple[str | None, int | None]:
    """Return the repo-relative file and line where error arose in the repo's code, if known."""
    if isinstance(error, SyntaxError) and error.filename:
        path = Path(error.filename)
        if path.is_relative_to(repo):
            return path.relative_to(repo).as_posix(), error.lineno

    # The innermost frame in a repo file is where the user's code called
    # into what failed, even when the exception comes from inside Feast.
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        path = Path(frame.filename)
        if path.is_absolute() and path.is_relative_to(repo):
            return path.relative_to(repo).as_posix(), frame.lineno
    return None, None


def definition_failure(error: BaseException, repo: Path) -> TaskFailure:
    """Build the DefinitionError failure for an exception raised by the repo's code."""
    file, line = locate_error(error, repo)
    if isinstance(error, SyntaxError):
        detail = f"{type(error).__name__}: {error.msg}"
    else:
        detail = describe_error(error)
    where = ""
    if file and line:
        where = f"{file}:{line}: "
    elif file:
        where = f"{file}: "
    return TaskFailure(
        REASON_DEFINITION_ERROR,
        f"{where}{detail}. {FIX_HINT}",
        user_error=True,
        file=file,
        line=line,
    )


def _forget_repo_modules(repo: Path) -> None:
    """Drop modules imported from repo earlier in this process, so that they are read again."""
    for name, module in list(sys.modules.items()):
        module_file = getattr(module, "__file__", None)
        if module_file and Path(module_file).is_relative_to(repo):
            del sys.modules[name]


def load_definitions(repo: Path, config: RepoConfig) -> RepoContents:
    """Import the definition files of repo (an absolute, resolved path) and collect their objects.

    Changes the working directory to repo, because Feast derives module
    names from paths relative to it. Raises TaskFailure with reason
    DefinitionError.
    """
    os.chdir(repo)
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    # Byte code would land next to the definitions on the repo volume.
    sys.dont_write_bytecode = True
    _forget_repo_modules(repo)

    try:
        contents = parse_repo(repo)
    except (Exception, SystemExit) as error:
        raise definition_failure(error, repo) from error

    # The same checks as feast apply, without its sys.exit.
    if not contents.projects:
        contents.projects.append(
            Project(name=config.project, description=config.project_description or "")
        )
    elif len(contents.projects) > 1:
        names = sorted(project.name for project in contents.projects)
        raise TaskFailure(
            REASON_DEFINITION_ERROR,
            f"The definitions declare {len(names)} Project objects {names}, but Feast supports "
            f"one per repo. Keep only Project(name={config.project!r}) or none.",
            user_error=True,
        )
    elif contents.projects[0].name != config.project:
        raise TaskFailure(
            REASON_DEFINITION_ERROR,
            f"The definitions declare Project(name={contents.projects[0].name!r}), but the "
            f"FeatureStore's project is {config.project!r}. Make the two names equal.",
            user_error=True,
        )
    return contents
