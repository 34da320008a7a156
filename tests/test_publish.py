"""Publishing the book and opening its pages live: the GitHub Actions workflow that builds the book from the committed
results and deploys it to GitHub Pages, the launch buttons in _config.yml and the Binder environment behind them.
(tests/test_book.py checks the built pages: the buttons are there, and nothing on a page loads from elsewhere.)"""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "book.yml"
BINDER = REPO / "binder"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def _uses(job: dict, action: str) -> list[dict]:
    return [s for s in _steps(job) if s.get("uses", "").split("@")[0] == action]


def _runs(job: dict) -> str:
    return "\n".join(s.get("run", "") for s in _steps(job))


def _step(job: dict, command: str) -> int:
    """The position of the first step with a command line that starts with ``command`` (a regular expression)."""
    return next(i for i, s in enumerate(_steps(job)) if re.search(rf"^\s*{command}", s.get("run", ""), re.M))


def test_workflow_builds_the_book_with_make_book_and_deploys_it(workflow):
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "main" in on["push"]["branches"] and "workflow_dispatch" in on
    jobs = workflow["jobs"]
    build = next(j for j in jobs.values() if "make book" in _runs(j))
    deploy = next(j for j in jobs.values() if _uses(j, "actions/deploy-pages"))
    # set up as the README does, with a CPU torch, then the two commands
    assert re.search(r"^make setup$", _runs(build), re.M) and re.search(r"^make book$", _runs(build), re.M)
    assert build["env"]["PIP_EXTRA_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    assert _uses(build, "actions/setup-python") and _uses(build, "actions/checkout")
    # nothing is trained: the build stops first if the committed results miss a run of the study
    assert _step(build, r"\S+ -m sparselib sweep --dry-run") < _step(build, "make book$")
    assert "0 to run" in _runs(build)
    # the official Pages actions: configure, upload _build/html, deploy it
    assert _uses(build, "actions/configure-pages")
    (upload,) = _uses(build, "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "_build/html"
    assert _steps(build).index(upload) > _step(build, "make book$")
    assert deploy["needs"] == next(k for k, j in jobs.items() if j is build)
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert workflow["permissions"] == {"contents": "read"}  # the build job itself gets no write access


def test_workflow_points_the_launch_buttons_at_its_repository(workflow):
    url = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]
    build = next(j for j in workflow["jobs"].values() if "make book" in _runs(j))
    fill = _step(build, r"sed .*GITHUB_REPOSITORY")
    assert url in _steps(build)[fill]["run"] and fill < _step(build, "make book$")


def test_launch_buttons_open_a_page_on_binder():
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    launch, repository = config["launch_buttons"], config["repository"]
    assert launch["binderhub_url"] == "https://mybinder.org" and launch["notebook_interface"] == "jupyterlab"
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repository["url"]) and repository["branch"]
    assert launch["thebe"] is False  # thebe loads its script from a CDN: the book must read offline


def test_binder_environment_has_a_cpu_torch_and_the_pinned_requirements():
    lines = [line.split("#")[0].strip() for line in (BINDER / "requirements.txt").read_text().splitlines()]
    lines = [line for line in lines if line]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    (pin,) = [line for line in (REPO / "requirements.txt").read_text().splitlines() if line.startswith("torch==")]
    assert f"{pin}+cpu" in lines  # the project's torch, as the CPU build
    assert "-r ../requirements.txt" in lines and any(line.startswith("jupytext") for line in lines)
    post = (BINDER / "postBuild").read_text()
    assert post.startswith("#!/bin/bash") and (BINDER / "postBuild").stat().st_mode & 0o111
    assert "pip install --no-cache-dir --no-deps -e ." in post and "set-default-viewer markdown" in post
    assert "dataset-fashion-mnist" in (BINDER / "apt.txt").read_text().split()  # the mini study's data
    assert re.fullmatch(r"python-3\.1\d\n", (BINDER / "runtime.txt").read_text())


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="actionlint is not installed")
def test_workflow_passes_actionlint():
    proc = subprocess.run(["actionlint", str(WORKFLOW)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
