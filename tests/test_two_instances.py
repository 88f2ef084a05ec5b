"""Two instances of one generated app (two uvicorn processes on loopback) share PostgreSQL and
Redis: one rate-limit budget for both, and a refresh token revoked through one instance is
refused by the other (issue #6).

Needs TEST_DATABASE_URL and TEST_REDIS_URL; when they are set, an unreachable server fails.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "gen_two_instances"
SIGN_IN_BUDGET = 6
PASSWORD = "two instances, one budget"

# One pytest-xdist worker runs the module: its fixture owns a database of a fixed name.
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("two_instances")]


def _required(name: str) -> str:
    value = os.environ.get(name)
    if value is None:
        pytest.skip(f"{name} is not set")
    return value


async def _recreate_database(server_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `server_url`; return its URL."""
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, ConnectionError) as exc:
        pytest.fail(f"TEST_DATABASE_URL is set but unreachable: {exc!r}", pytrace=False)
    finally:
        await engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(base: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"uvicorn exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{base} did not answer /health within {seconds} s")


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Base URLs of two uvicorn processes serving output/blog against one database and Redis."""
    server_url = _required("TEST_DATABASE_URL")
    redis_url = _required("TEST_REDIS_URL")
    project = tmp_path_factory.mktemp("two") / "blog"
    shutil.copytree(ROOT / "output" / "blog", project)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEST_")}
    env |= {
        "PYTHONPATH": str(project),
        "DATABASE_URL": asyncio.run(_recreate_database(server_url, DATABASE)),
        "REDIS_URL": redis_url,
        "SECRET_KEY": "a-shared-secret-of-more-than-32-bytes-" + "x" * 8,
        "RATE_LIMIT_NAMESPACE": f"two-instances-{uuid.uuid4().hex}",
        "RATE_LIMIT_SIGN_IN": f"{SIGN_IN_BUDGET}/minute",
        "RATE_LIMIT_ANONYMOUS": "1000/minute",
        "LOG_LEVEL": "WARNING",
    }
    migrate = subprocess.run(
        [sys.executable, "-m", "blog", "migrate"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    processes: list[subprocess.Popen[bytes]] = []
    bases = []
    try:
        for _ in range(2):
            port = _free_port()
            command = [sys.executable, "-m", "uvicorn", "blog.main:app", "--host", "127.0.0.1"]
            command += ["--port", str(port), "--forwarded-allow-ips", "127.0.0.1"]
            processes.append(
                subprocess.Popen(
                    command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        for base, process in zip(bases, processes, strict=True):
            _wait_until_up(base, process)
        yield bases[0], bases[1]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _from(address: str) -> dict[str, str]:
    """Requests that each instance attributes to `address` (uvicorn trusts loopback proxies),
    so each test spends a budget of its own. Only a header: nothing is sent there."""
    return {"X-Forwarded-For": address}


def test_the_sign_in_budget_is_shared_by_both_instances(instances: tuple[str, str]) -> None:
    first, second = instances
    headers = _from("192.0.2.10")
    body = {"email": "nobody@example.com", "password": PASSWORD}
    answers = []
    for attempt in range(SIGN_IN_BUDGET + 2):
        base = (first, second)[attempt % 2]
        answers.append(httpx.post(f"{base}/api/v1/auth/login", json=body, headers=headers))
    statuses = [a.status_code for a in answers]
    assert statuses == [401] * SIGN_IN_BUDGET + [429, 429], statuses
    # The headers report the address's general budget: it too goes down by one per request,
    # whichever instance answered.
    remaining = [int(a.headers["RateLimit-Remaining"]) for a in answers[:SIGN_IN_BUDGET]]
    assert remaining == [remaining[0] - i for i in range(SIGN_IN_BUDGET)], remaining
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers[SIGN_IN_BUDGET:])


def test_a_refresh_token_revoked_through_one_instance_is_refused_by_the_other(
    instances: tuple[str, str],
) -> None:
    first, second = instances
    headers = _from("192.0.2.20")
    person = {"email": f"{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD}
    registered = httpx.post(
        f"{first}/api/v1/auth/register",
        json={**person, "display_name": "Two Instances"},
        headers=headers,
    )
    assert registered.status_code == 201, registered.text
    signed_in = httpx.post(f"{second}/api/v1/auth/login", json=person, headers=headers)
    assert signed_in.status_code == 200, signed_in.text
    original = signed_in.json()["data"]["refresh_token"]

    rotated = httpx.post(
        f"{first}/api/v1/auth/refresh", json={"refresh_token": original}, headers=headers
    )
    assert rotated.status_code == 200, rotated.text
    reused = httpx.post(
        f"{second}/api/v1/auth/refresh", json={"refresh_token": original}, headers=headers
    )
    assert reused.status_code == 401, reused.text
    # Reuse revoked the whole family, through the other instance: the new token is dead too.
    newest = rotated.json()["data"]["refresh_token"]
    after_reuse = httpx.post(
        f"{first}/api/v1/auth/refresh", json={"refresh_token": newest}, headers=headers
    )
    assert after_reuse.status_code == 401, after_reuse.text

    fresh = httpx.post(f"{first}/api/v1/auth/login", json=person, headers=_from("192.0.2.21"))
    assert fresh.status_code == 200, fresh.text
    token = fresh.json()["data"]["refresh_token"]
    logged_out = httpx.post(
        f"{first}/api/v1/auth/logout", json={"refresh_token": token}, headers=_from("192.0.2.21")
    )
    assert logged_out.status_code == 200, logged_out.text
    refused = httpx.post(
        f"{second}/api/v1/auth/refresh", json={"refresh_token": token}, headers=_from("192.0.2.21")
    )
    assert refused.status_code == 401, refused.text
