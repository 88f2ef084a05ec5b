"""Load benchmark: the generated blog backend against a hand-written FastAPI + SQLAlchemy app
(bench/handwritten_app.py) over the same PostgreSQL tables, in one run.

    python bench/load.py --database postgresql+asyncpg://postgres@127.0.0.1:5432/gen_cache \
        --redis redis://127.0.0.1:6379/3

It empties the database's `public` schema, migrates it with the generated project, seeds an
author and 200 published posts, then serves each app on 127.0.0.1 with one uvicorn process and
drives it with `wrk` (bounded: fixed connections and seconds per endpoint): GET by id, a list of
20 rows with `include=author`, and create. The generated app runs three ways: cache off, cache
in Redis, cache in process. Finally it counts the SQL statements of list requests of 5, 20 and
100 rows (from the app's `/metrics`). Prints a Markdown table and writes bench/load-results.json.

With `--rounds N` it runs only the hand-written app and the generated one without the cache,
both up at once, and drives them in turn (A, B, A, B: N runs each per endpoint) so that a
loaded machine weighs on both alike; writes bench/load-interleaved.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "output" / "blog"
SECRET_KEY = "bench-secret-key-0123456789-0123456789-abcdef"
PORT = 8731
POSTS = 200
CREATE_SCRIPT = """
counter = 0
math.randomseed(os.time())
local prefix = tostring(math.random(1, 1000000000))
local token = os.getenv("BENCH_TOKEN")
request = function()
  counter = counter + 1
  local body = string.format(
    '{"title":"Bench post %d","slug":"bench-%s-%d","body":"Benchmark body."}',
    counter, prefix, counter)
  return wrk.format("POST", "/api/v1/posts",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
"""


def environment(database: str, **extra: str) -> dict[str, str]:
    values = dict(os.environ)
    values.update(
        DATABASE_URL=database,
        SECRET_KEY=SECRET_KEY,
        ENV="test",
        LOG_LEVEL="WARNING",
        SLOW_QUERY_MS="5000",
        RATE_LIMIT_ENABLED="false",
        PYTHONPATH=f"{PROJECT}{os.pathsep}{ROOT}",
    )
    values.pop("REDIS_URL", None)
    values.update(extra)
    return values


async def reset_and_seed(database: str) -> tuple[int, str]:
    """An empty `public` schema, migrated and seeded; the author's id and access token."""
    sys.path.insert(0, str(PROJECT))
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    engine = create_async_engine(database)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    subprocess.run(
        [sys.executable, "-m", "blog", "migrate"],
        cwd=PROJECT,
        env=environment(database),
        check=True,
        capture_output=True,
    )
    from blog.core.config import Settings
    from blog.core.security import issue_access_token
    from blog.enums import PostStatus, UserRole
    from blog.models.category import Category
    from blog.models.post import Post
    from blog.models.user import User

    now = datetime.now(UTC)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        author = User(
            email="author@example.com",
            password="not-a-hash",
            display_name="Bench Author",
            role=UserRole.AUTHOR,
            terms_accepted_at=now,
        )
        category = Category(name="Bench", slug="bench")
        session.add_all([author, category])
        await session.flush()
        session.add_all(
            Post(
                title=f"Post number {number}",
                slug=f"post-{number}",
                summary="A post to read under load.",
                body="Lorem ipsum dolor sit amet. " * 20,
                status=PostStatus.PUBLISHED,
                published_at=now + timedelta(minutes=1),  # not before created_at
                reading_minutes=3,
                author_id=author.id,
                category_id=category.id,
            )
            for number in range(POSTS)
        )
        await session.commit()
    await engine.dispose()
    settings = Settings(_env_file=None, SECRET_KEY=SECRET_KEY, ENV="test")
    token, _ = issue_access_token(settings, subject=str(author.id))
    return author.id, token


class Server:
    """One uvicorn process on 127.0.0.1:PORT for the duration of a `with` block."""

    def __init__(self, app: str, env: dict[str, str], port: int | None = None) -> None:
        self.app = app
        self.env = env
        self.port = PORT if port is None else port

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                self.app,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/posts/1", timeout=1)
                return self
            except urllib.error.HTTPError:  # an answer, if not a 200: it is up
                return self
            except OSError:
                time.sleep(0.2)
        self.process.kill()
        raise RuntimeError(f"{self.app} did not start")

    def __exit__(self, *_exc: object) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=20)


def wrk(
    path: str,
    seconds: int,
    connections: int,
    script: str | None = None,
    token: str = "",
    port: int | None = None,
) -> dict[str, float]:
    """Requests per second, mean latency (ms) and non-2xx count of one wrk run."""
    port = PORT if port is None else port
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        if script:
            lua.write(script)
            command += ["-s", lua.name]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "BENCH_TOKEN": token},
    ).stdout
    os.unlink(lua.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    mean = float(latency.group(1)) * scale[latency.group(2)] if latency else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": rps,
        "latency_ms": mean,
        "errors": float(errors.group(1)) if errors else 0.0,
        "load_1min": os.getloadavg()[0],
    }


def statements_per_request(paths: dict[str, str]) -> dict[str, float]:
    """SQL statements of one request to each path, from the app's `/metrics` (no load)."""
    counts = {}
    for label, path in paths.items():
        time.sleep(0.5)  # the metrics of the previous request are recorded after it is sent
        before = _statement_total()
        urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=10).read()
        time.sleep(0.5)
        counts[label] = _statement_total() - before
    return counts


def _statement_total() -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=10).read().decode()
    return sum(float(v) for v in re.findall(r"^db_statements_total\{.*\} ([\d.e+]+)$", text, re.M))


def run(args: argparse.Namespace) -> dict[str, dict[str, dict[str, float]]]:
    _author, token = asyncio.run(reset_and_seed(args.database))
    endpoints = {
        "get by id": ("/api/v1/posts/17", None),
        "list 20 + include": ("/api/v1/posts?limit=20&include=author", None),
        "create": ("/api/v1/posts", CREATE_SCRIPT),
    }
    apps = {
        "hand-written": ("bench.handwritten_app:app", {}),
        "generated, no cache": ("blog.main:app", {"CACHE_ENABLED": "false"}),
        "generated, Redis cache": ("blog.main:app", {"REDIS_URL": args.redis}),
        "generated, in-process cache": ("blog.main:app", {}),
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, (app, extra) in apps.items():
        env = environment(args.database, BENCH_TOKEN=token, **extra)
        with Server(app, env):
            results[name] = {}
            for label, (path, script) in endpoints.items():
                if script is not None and "cache" in name and "no cache" not in name:
                    continue  # creates never hit the cache: measured once, cache off
                wrk(path, 2, args.connections, script, token)  # warm-up
                results[name][label] = wrk(path, args.seconds, args.connections, script, token)
                print(name, label, results[name][label], flush=True)
            if name == "generated, no cache":
                time.sleep(2)
                results[name]["statements"] = statements_per_request(
                    {
                        "get by id": "/api/v1/posts/17",
                        **{
                            f"list {n} + include": f"/api/v1/posts?limit={n}&include=author"
                            for n in (5, 20, 100)
                        },
                        "list 20": "/api/v1/posts?limit=20",
                    }
                )
    return results


def interleaved(args: argparse.Namespace) -> dict[str, dict[str, list[dict[str, float]]]]:
    """The hand-written app and the generated one without the cache, both up at once on two
    ports, driven in turn (A, B, A, B ... `--rounds` times per endpoint) so that the load of
    the machine weighs on both alike."""
    _author, token = asyncio.run(reset_and_seed(args.database))
    endpoints = {
        "get by id": ("/api/v1/posts/17", None),
        "list 20 + include": ("/api/v1/posts?limit=20&include=author", None),
        "create": ("/api/v1/posts", CREATE_SCRIPT),
    }
    apps = {
        "hand-written": ("bench.handwritten_app:app", PORT),
        "generated, no cache": ("blog.main:app", PORT + 1),
    }
    env = environment(args.database, BENCH_TOKEN=token, CACHE_ENABLED="false")
    runs: dict[str, dict[str, list[dict[str, float]]]] = {name: {} for name in apps}
    with (
        Server(apps["hand-written"][0], env, apps["hand-written"][1]),
        Server(apps["generated, no cache"][0], env, apps["generated, no cache"][1]),
    ):
        for label, (path, script) in endpoints.items():
            for name, (_app, port) in apps.items():  # warm-up
                wrk(path, 2, args.connections, script, token, port)
                runs[name][label] = []
            for _round in range(args.rounds):
                for name, (_app, port) in apps.items():
                    run = wrk(path, args.seconds, args.connections, script, token, port)
                    runs[name][label].append(run)
                    print(name, label, run, flush=True)
    return runs


def interleaved_table(runs: dict[str, dict[str, list[dict[str, float]]]]) -> str:
    """Per endpoint: mean req/s of each app over its runs, their ratio, the load average."""
    lines = [
        "| endpoint | hand-written req/s | generated req/s | generated / hand-written "
        "| runs each | load average (1 min) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for label, base in runs["hand-written"].items():
        ours = runs["generated, no cache"][label]
        base_rps = sum(r["rps"] for r in base) / len(base)
        our_rps = sum(r["rps"] for r in ours) / len(ours)
        loads = [r["load_1min"] for r in (*base, *ours)]
        lines.append(
            f"| {label} | {base_rps:.0f} | {our_rps:.0f} | {our_rps / base_rps:.2f}x "
            f"| {len(base)} | {min(loads):.1f} to {max(loads):.1f} |"
        )
    return "\n".join(lines)


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    base = results["hand-written"]
    lines = [
        "| app | endpoint | req/s | mean latency (ms) | non-2xx | vs hand-written |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, rows in results.items():
        for label, row in rows.items():
            if label == "statements":
                continue
            ratio = row["rps"] / base[label]["rps"]
            lines.append(
                f"| {name} | {label} | {row['rps']:.0f} | {row['latency_ms']:.1f} | "
                f"{row['errors']:.0f} | {ratio:.2f}x |"
            )
    counts = results["generated, no cache"]["statements"]
    lines.append("")
    lines.append(
        "SQL statements per request of the generated app (cache off, from `/metrics`): "
        + ", ".join(f"{k}: {v:.0f}" for k, v in counts.items())
    )
    return "\n".join(lines)


def main() -> None:
    global PORT  # the servers' and wrk's port, for the whole run
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="postgresql+asyncpg:// URL (emptied)")
    parser.add_argument("--redis", required=True, help="redis:// URL of a database of your own")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--port", type=int, default=PORT, help="of the first app (the second takes the next)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="only the hand-written app against the generated one without cache, both up, "
        "driven in turn this many times per endpoint (writes load-interleaved.json)",
    )
    args = parser.parse_args()
    PORT = args.port
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    if args.rounds:
        runs = interleaved(args)
        (ROOT / "bench" / "load-interleaved.json").write_text(
            json.dumps(runs, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        print(interleaved_table(runs))
        return
    results = run(args)
    (ROOT / "bench" / "load-results.json").write_text(
        json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(table(results))


if __name__ == "__main__":
    main()
