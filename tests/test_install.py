"""A non-editable install works outside the checkout: the manifest ships in the package, the notebooks beside it."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from companion import paths, runner
from companion.artifacts import ARTIFACTS

SHIPPED = ("pyproject.toml", "README.md", "lib", "notebooks", "data/models")


def test_pip_install_dot_lists_notebooks_datasets_and_models_from_any_folder(tmp_path):
    source = tmp_path / "source"
    for name in SHIPPED:
        copy = shutil.copytree if (paths.CHECKOUT / name).is_dir() else shutil.copy
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        copy(paths.CHECKOUT / name, source / name, **({"ignore": shutil.ignore_patterns("*.egg-info", "__pycache__",
                                                                                        "*.record.json")}
                                                      if copy is shutil.copytree else {}))
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", str(source), "-w", str(tmp_path / "wheel")],
                   check=True, cwd=tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # the new venv sees this one's dependencies (a plain path: the editable install's hook in it is not run)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next((tmp_path / "wheel").glob("companion-*.whl"))
    subprocess.run([*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", str(wheel)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("COMPANION_ROOT", "PYTHONPATH")}
    where = tmp_path / "elsewhere"
    where.mkdir()

    def companion(*args):
        return subprocess.run([str(venv / "bin" / "companion"), *args], cwd=where, env=env, capture_output=True,
                              text=True, check=True).stdout

    listed = companion("list")
    assert [line.split()[0] for line in listed.splitlines() if not line.startswith(" ")] == [
        nb.stem for nb in runner.notebooks()]
    assert "digits" in companion("data", "list")
    assert companion("model", "list").count(" ok ") == len(ARTIFACTS)  # every committed model, installed and checked
    root = subprocess.run([str(venv / "bin" / "python"), "-c", "import companion.paths as p; print(p.root())"],
                          cwd=where, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(root) == venv / "share" / "companion"
