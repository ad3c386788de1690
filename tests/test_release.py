"""A release that installs and tests itself: the sdist is a whole project, the wheel is
the package alone, and every install hint names something that exists."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from pytest_paramform import __version__
from pytest_paramform.errors import MissingExtraError
from pytest_paramform.heavy_imports import INSTALL, require

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pytest_paramform"
# What a checkout holds besides the project: never copied, never shipped.
LOCAL = shutil.ignore_patterns(
    ".git", ".venv", ".tox", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)
BUILD = (  # setuptools rewrites sys.argv as it builds: read the folder first
    "import sys\n"
    "from setuptools import build_meta\n"
    "out = sys.argv[1]\n"
    "build_meta.build_sdist(out)\n"
    "build_meta.build_wheel(out)\n"
)


def _clean_env() -> dict[str, str]:
    """This run's environment without what tells pytest it runs inside another pytest."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GITHUB_"))}


def _files(top: Path) -> set[str]:
    return {p.relative_to(top).as_posix() for p in top.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist and the wheel, built from a copy of this tree (the build writes egg-info
    next to pyproject.toml, and this tree is left as it is)."""
    pytest.importorskip("setuptools", minversion="77")
    tmp = tmp_path_factory.mktemp("release")
    source, dist = tmp / "source", tmp / "dist"
    shutil.copytree(ROOT, source, ignore=LOCAL)
    done = subprocess.run(
        [sys.executable, "-c", BUILD, str(dist)],
        cwd=source,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    return sdist, wheel


def test_the_sdist_holds_what_its_tests_need_and_collects_them(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (top,) = tmp_path.iterdir()
    assert top.name == f"pytest_paramform-{__version__}"
    shipped = _files(top)
    for needed in ("LICENSE", "CHANGELOG.md", "README.md", "tox.ini", "pyproject.toml"):
        assert needed in shipped
    assert "constraints/oldest.txt" in shipped, "tox -e oldest reads it"
    here = _files(ROOT)
    for folder in ("tests", "examples"):
        ours = {f for f in here if f.startswith(f"{folder}/") and "__pycache__" not in f}
        ours = {f for f in ours if "/." not in f}
        assert ours <= shipped, sorted(ours - shipped)
    assert not [f for f in shipped if "__pycache__" in f or f.endswith(".pyc")]

    where = subprocess.run(
        [sys.executable, "-c", "import pytest_paramform; print(pytest_paramform.__file__)"],
        cwd=top,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(top), "the sdist's own package is tested"
    # syrupy counts every golden as unused in a run that collects only, and exits 1 for it
    # (in this tree as in the sdist); --snapshot-warn-unused keeps that a warning.
    collect = ["--collect-only", "-q", "-p", "no:cacheprovider", "--snapshot-warn-unused"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *collect],
        cwd=top,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    counted = re.search(r"(\d+) tests? collected", done.stdout)
    assert counted is not None, done.stdout[-3000:]
    assert "tests/test_release.py::" in done.stdout
    assert "examples/torchvision_zoo/test_zoo.py::" in done.stdout
    assert int(counted.group(1)) > 700


def test_the_wheel_is_the_package_alone(built: tuple[Path, Path]) -> None:
    _, wheel = built
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = f"pytest_paramform-{__version__}.dist-info/"
    assert all(n.startswith(("pytest_paramform/", dist_info)) for n in names), names
    assert "pytest_paramform/py.typed" in names
    assert f"{dist_info}licenses/LICENSE" in names
    package = {f"pytest_paramform/{f}" for f in _files(PACKAGE) if f.endswith(".py")}
    assert package <= set(names)


def test_the_license_is_the_one_pyproject_declares() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) 2026 pytest-paramform developers\n")


def test_the_changelog_has_a_first_release_with_its_features_added() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    sections = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    assert sections[0].startswith("[Unreleased]")
    first = next(s for s in sections if s.startswith("[0.1.0]"))
    assert re.search(r"^### Added$", first, flags=re.MULTILINE)
    assert sections[-1] is first, "0.1.0 is the oldest release"


def test_every_install_hint_names_something_that_exists() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    hints = set()
    for path in PACKAGE.rglob("*.py"):
        hints |= set(re.findall(r"require\(\s*\"[\w.]+\",\s*\"(\w+)\"\s*\)", path.read_text()))
    assert "torch" in hints
    assert all(hint in extras or hint in INSTALL for hint in hints), hints


def test_a_missing_torch_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # what `import torch` meets when absent
    with pytest.raises(MissingExtraError) as error:
        require("torch", "torch")
    message = str(error.value)
    assert "install it with: pip install torch " in message
    assert "--index-url https://download.pytorch.org/whl/cpu" in message
    assert "pytest-paramform[torch]" not in message
