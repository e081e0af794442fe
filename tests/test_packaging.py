"""Project hygiene: dependencies agree, README's commands, CI calls them, data not committed."""

import re
import subprocess
import tomllib

import yaml

from .conftest import ROOT


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_and_pyproject_agree():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    py = {_name(d) for d in pyproject["project"]["dependencies"]}
    py |= {_name(d) for d in pyproject["project"]["optional-dependencies"]["test"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    specs = [d for d in env["dependencies"] if isinstance(d, str)]
    for d in env["dependencies"]:
        if isinstance(d, dict):
            specs += d.get("pip", [])
    conda = {_name(d) for d in specs} - {"python", "pip"}
    assert "conda-forge" in env["channels"]
    assert py == conda, f"only in pyproject: {sorted(py - conda)}; only in environment.yml: {sorted(conda - py)}"
    # the same ranges, too
    ranges = {_name(d): d.replace(" ", "")[len(_name(d)):] for d in pyproject["project"]["dependencies"]}
    for d in specs:
        if _name(d) in ranges:
            assert d.replace(" ", "")[len(_name(d)):] == ranges[_name(d)], d


def test_readme_commands_and_ci():
    readme = (ROOT / "README.md").read_text()
    assert "make report" in readme and "make test" in readme and "make lab" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_generated_data_is_not_tracked():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert not [f for f in files if f.startswith(("data/demo", "reports/2", "data/snapshots"))
                or f.endswith((".db", ".db-wal"))]
