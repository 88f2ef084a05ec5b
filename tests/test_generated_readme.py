"""A generated project runs exactly as its README says: a fresh virtualenv, `pip install -e`,
`migrate`, `serve` on SQLite; it then answers under /api/v1 and serves /docs.

Slow (it installs the project's dependencies into a new virtualenv). The server listens on a
free loopback port and is killed at the end, whatever happens.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "weather"
START_TIMEOUT = 60.0

pytestmark = pytest.mark.slow


def sqlite_steps(readme: str) -> list[str]:
    """The commands of the README's 'Run it on SQLite' block, comments dropped."""
    section = readme.split("## Run it on SQLite", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None, "the README has no SQLite block"
    lines = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def example_url(readme: str) -> str:
    """The URL the README tells the reader to curl."""
    found = re.search(r"`curl (http://127\.0\.0\.1:8000/\S+)`", readme)
    assert found is not None, "the README names no URL to try"
    return found.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        try:
            fetch(url)
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"nothing answered at {url} within {START_TIMEOUT:.0f} s")


def test_readme_sqlite_steps_install_migrate_and_serve(tmp_path: Path) -> None:
    project = tmp_path / EXAMPLE
    shutil.copytree(ROOT / "output" / EXAMPLE, project)
    readme = (project / "README.md").read_text(encoding="utf-8")
    steps = sqlite_steps(readme)
    assert steps[-1].startswith(f"python -m {EXAMPLE} serve"), steps
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.pop("DATABASE_URL", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    setup = "set -e; " + "; ".join(steps[:-1])
    done = subprocess.run(
        ["bash", "-c", setup], cwd=project, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert (project / f"{EXAMPLE}.db").is_file(), "migrate made no SQLite database"
    port = free_port()
    serve = f". .venv/bin/activate; exec {steps[-1]} --port {port}"
    server = subprocess.Popen(
        ["bash", "-c", serve],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/health", server)
        status, body = fetch(example_url(readme).replace("http://127.0.0.1:8000", base))
        assert status == 200, body
        answer = json.loads(body)
        assert answer["success"] is True
        assert answer["meta"]["page"] == 1
        status, body = fetch(f"{base}/docs")
        assert status == 200
        assert b"swagger-ui" in body
    finally:
        server.kill()
        server.wait(timeout=30)
