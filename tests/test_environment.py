"""The install routes stay in step: pyproject.toml names the packages, requirements.lock pins the exact versions that
produced the committed outputs, the Makefile installs from the lock, and Binder's environment.yml pins the same versions."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
CONDA_NAMES = {"pytorch-cpu": "torch"}  # conda-forge's CPU-only build of torch
NOT_LOCKED = {"python", "pip"}  # conda entries that are the interpreter and its installer, not packages of the lock


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def runtime_requirements():
    return [Requirement(r) for r in pyproject()["dependencies"]]


def all_requirements():
    """The dependencies and those of every extra (test, bench, browser): everything make installs from pyproject."""
    extras = [r for group in pyproject()["optional-dependencies"].values() for r in group]
    return runtime_requirements() + [Requirement(r) for r in extras]


def lock_pins(text):
    """A lock's lines as {name: version}; each must be one exact `name==version`, no range, marker or local label
    (a +cpu label would hold every user to one build of torch)."""
    pins = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        exact = len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version
        if not exact or req.marker or req.extras or Version(specs[0].version).local:
            raise ValueError(f"requirements.lock: {line!r} is not an exact name==version pin")
        pins[canonicalize_name(req.name)] = Version(specs[0].version)
    return pins


def unlocked(requirements, pins):
    """Each requirement that the lock leaves out or pins outside the requirement's own bounds, as a message."""
    problems = []
    for req in requirements:
        version = pins.get(canonicalize_name(req.name))
        if version is None:
            problems.append(f"{req.name}: not in requirements.lock")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}: requirements.lock has {version}, pyproject.toml asks {req.specifier}")
    return problems


def conda_packages(deps):
    """environment.yml's packages as {pip name: exact version, or None where the entry is not a `name==version` pin}."""
    found = {}
    for dep in deps:
        name, spec = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", dep).groups()
        exact = re.fullmatch(r"==([0-9][0-9A-Za-z.]*)", spec)
        found[canonicalize_name(CONDA_NAMES.get(name, name))] = Version(exact.group(1)) if exact else None
    return found


def unlike_the_lock(conda, pins):
    """Each conda package (the interpreter and pip aside) not pinned to the lock's version, as a message."""
    return [f"{name}: environment.yml has {'==' + str(version) if version else 'no exact pin'}, "
            f"requirements.lock has {pins.get(name)}"
            for name, version in conda.items() if name not in NOT_LOCKED and version != pins.get(name)]


def environment_deps():
    deps = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    assert all(isinstance(d, str) for d in deps), "environment.yml: the package itself comes from postBuild, not a pip: list"
    return deps


def makefile_install_recipe():
    """The lines of the Makefile's install recipe ($(VENV)/.installed) and its prerequisites line."""
    return re.search(r"^\$\(VENV\)/\.installed:.*?(?=^\S|\Z)", (ROOT / "Makefile").read_text(), re.M | re.S).group()


def test_lock_pins_every_package_exactly():
    assert len(lock_pins(LOCK.read_text())) > len(all_requirements())


@pytest.mark.parametrize("line", ["numpy>=2.4", "numpy==2.*", "torch==2.13.0+cpu", "appnope==0.1.4; sys_platform == 'darwin'"])
def test_a_lock_line_that_is_not_an_exact_pin_is_refused(line):
    with pytest.raises(ValueError, match=re.escape(line)):
        lock_pins(f"# header\nscipy==1.17.1\n{line}\n")


def test_every_pyproject_dependency_is_locked_within_its_bounds():
    problems = unlocked(all_requirements(), lock_pins(LOCK.read_text()))
    assert not problems, "\n".join(problems)


def test_a_dependency_missing_from_the_lock_or_below_its_floor_is_reported():
    pins = lock_pins("numpy==1.25.0\n")
    assert unlocked([Requirement("numpy>=1.26"), Requirement("scipy>=1.11")], pins) == [
        "numpy: requirements.lock has 1.25.0, pyproject.toml asks >=1.26", "scipy: not in requirements.lock"]


def test_makefile_installs_from_the_lock_and_reinstalls_when_it_changes():
    recipe = makefile_install_recipe()
    assert re.search(r"^LOCK\s*:?=\s*requirements\.lock$", (ROOT / "Makefile").read_text(), re.M)
    assert "$(LOCK)" in recipe.splitlines()[0], "the install target must list the lock as a prerequisite"
    installs = [line for line in recipe.splitlines() if "pip install" in line]
    assert installs and all("-c $(LOCK)" in line for line in installs), installs


def test_packages_the_makefile_installs_without_dependencies_are_locked():
    (line,) = [line for line in makefile_install_recipe().splitlines() if "--no-deps" in line]
    names = line.split("--no-deps", 1)[1].split()
    assert {canonicalize_name(n) for n in names} == {"backpack-for-pytorch", "einops", "unfoldnd"}
    problems = unlocked([Requirement(n) for n in names], lock_pins(LOCK.read_text()))
    assert not problems, "\n".join(problems)


def test_environment_yml_names_exactly_the_packages_make_run_needs():
    conda = set(conda_packages(environment_deps())) - NOT_LOCKED
    pip = {canonicalize_name(r.name) for r in runtime_requirements()}
    assert sorted(pip - conda) == [], "in pyproject.toml but missing from environment.yml"
    assert sorted(conda - pip) == [], "in environment.yml but not a dependency in pyproject.toml"


def test_environment_yml_pins_the_lock_versions():
    problems = unlike_the_lock(conda_packages(environment_deps()), lock_pins(LOCK.read_text()))
    assert not problems, "\n".join(problems)


def test_an_environment_yml_package_off_the_lock_is_reported():
    conda = conda_packages(["python==3.11.7", "pytorch-cpu==2.13.0", "numpy==2.4.5", "scipy>=1.11", "pandas==3.*"])
    pins = lock_pins("torch==2.13.0\nnumpy==2.4.6\nscipy==1.17.1\npandas==3.1.1\n")
    assert unlike_the_lock(conda, pins) == ["numpy: environment.yml has ==2.4.5, requirements.lock has 2.4.6",
                                           "scipy: environment.yml has no exact pin, requirements.lock has 1.17.1",
                                           "pandas: environment.yml has no exact pin, requirements.lock has 3.1.1"]


def test_environment_yml_python_and_pip_are_pinned_to_what_the_lock_was_made_with():
    conda = conda_packages(environment_deps())
    made_with = re.search(r"--python-version (\S+)", LOCK.read_text()).group(1)
    assert conda["python"] == Version(made_with), f"environment.yml's python should be {made_with}, as the lock's"
    assert SpecifierSet(pyproject()["requires-python"]).contains(conda["python"])
    assert conda["pip"] is not None, "environment.yml: pip must be pinned exactly too"


def test_torch_on_binder_is_the_cpu_build():
    names = {re.match(r"[A-Za-z0-9_.-]+", d).group() for d in environment_deps()}
    assert "pytorch-cpu" in names and not names & {"pytorch", "torch", "pytorch-gpu"}


def test_binder_installs_the_package_itself():
    post = (ROOT / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post
    assert (ROOT / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
