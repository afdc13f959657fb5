"""Binder's environment.yml and pyproject.toml (the pip truth) name the same packages with the same lower bounds."""

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch-cpu": "torch"}  # conda-forge's CPU-only build of torch
NOT_PACKAGES = {"python", "pip"}  # conda entries that are the interpreter and its installer


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pip_requirements():
    return {Requirement(r).name.lower(): Requirement(r).specifier for r in pyproject()["dependencies"]}


def conda_requirements():
    """The conda packages of environment.yml as {pip name: specifier}; the python pin separately."""
    deps = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    assert all(isinstance(d, str) for d in deps), "environment.yml: the package itself comes from postBuild, not a pip: list"
    found, python = {}, None
    for dep in deps:
        name, spec = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", dep).groups()
        if name == "python":
            python = spec.lstrip("=")  # conda's python=3.11 pins the minor version
        elif name not in NOT_PACKAGES:
            found[CONDA_NAMES.get(name, name).lower()] = SpecifierSet(spec)
    return found, python


def test_environment_yml_names_exactly_the_packages_make_run_needs():
    conda, _ = conda_requirements()
    pip = pip_requirements()
    assert sorted(set(pip) - set(conda)) == [], "in pyproject.toml but missing from environment.yml"
    assert sorted(set(conda) - set(pip)) == [], "in environment.yml but not a dependency in pyproject.toml"


def test_environment_yml_versions_agree_with_pyproject():
    conda, python = conda_requirements()
    for name, spec in pip_requirements().items():
        assert conda[name] == spec, f"{name}: environment.yml says {conda[name]}, pyproject.toml says {spec}"
    assert SpecifierSet(pyproject()["requires-python"]).contains(f"{python}.0"), f"python {python} outside requires-python"


def test_torch_on_binder_is_the_cpu_build():
    conda, _ = conda_requirements()
    names = {re.match(r"[A-Za-z0-9_.-]+", d).group() for d in yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]}
    assert "pytorch-cpu" in names and not names & {"pytorch", "torch", "pytorch-gpu"}
    assert "torch" in conda


def test_binder_installs_the_package_itself():
    post = (ROOT / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post
    assert (ROOT / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
