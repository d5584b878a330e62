"""Benchmark one GitHub call's CPU: bare aiohttp, gidgethub, and the App's client. A script.

A local server in its own process answers every request with the same check-run JSON; the
client process, on another CPU where there is one, makes calls one at a time and reads its own
CPU time. The difference between the rows is what each layer costs per call.

    .venv/bin/python bench/client.py            # about 20 seconds
    .venv/bin/python bench/client.py --loop asyncio
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from statistics import median

import aiohttp
import gidgethub.aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.edge.github import GitHub  # noqa: E402

RUN = {
    "id": 1,
    "name": "canon-gate",
    "status": "queued",
    "head_sha": "a" * 40,
    "external_id": "canon-gate:v1:pr=12:head=" + "a" * 40,
    "html_url": "https://github.com/o/r/runs/1",
    "output": {"title": None, "summary": None, "text": None, "annotations_count": 0},
    "app": {"id": 1, "slug": "canon-gate"},
    "pull_requests": [],
    "check_suite": {"id": 5},
}
SERVER = f"""
import sys
from aiohttp import web
body = {json.dumps(json.dumps(RUN))}.encode()
headers = {{"content-type": "application/json; charset=utf-8", "x-ratelimit-remaining": "4999",
           "x-ratelimit-limit": "5000", "x-ratelimit-reset": "1999999999"}}
async def answer(request):
    await request.read()
    return web.Response(body=body, headers=headers)
app = web.Application()
app.router.add_route("*", "/{{tail:.*}}", answer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""
BODY = {"name": "canon-gate", "head_sha": "a" * 40, "external_id": "x"}
PATH = "/repos/{owner}/{repo}/check-runs"
VARS = {"owner": "o", "repo": "r"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def per_call(call: Callable[[], Awaitable[object]], n: int) -> float:
    """Median CPU microseconds per call over five rounds of `n`, after a warm-up."""
    for _ in range(200):
        await call()
    rounds = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(n):
            await call()
        rounds.append((time.process_time() - started) / n * 1e6)
    return median(rounds)


async def main(n: int, port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        for _ in range(100):
            try:
                async with http.get(base + "/ready") as answer:
                    await answer.read()
                    break
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
        plain = gidgethub.aiohttp.GitHubAPI(http, "bench", oauth_token="t", base_url=base)
        ours = GitHub(http, oauth_token="t", base_url=base, installation_id=1)
        headers = {"authorization": "token t", "accept": "application/vnd.github+json"}

        async def bare() -> object:
            url = base + PATH.format(**VARS)
            async with http.post(url, json=BODY, headers=headers) as answer:
                return await answer.json()

        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "aiohttp, bare": bare,
            "gidgethub": lambda: plain.post(PATH, url_vars=VARS, data=BODY),
            "canon-gate's client": lambda: ours.post(PATH, url_vars=VARS, data=BODY),
        }
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
        print(f"POST {PATH} one at a time, CPU per call (median of 5 x {n}), {loop} loop")
        for name, call in calls.items():
            print(f"  {name:<22} {await per_call(call, n):7.1f} µs")


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="calls per round (default 1000)")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 1:
        os.sched_setaffinity(server.pid, {cpus[0]})
        os.sched_setaffinity(0, {cpus[-1]})
    try:
        if args.loop == "uvloop":
            import uvloop

            uvloop.run(main(args.n, port))
        else:
            asyncio.run(main(args.n, port))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    run()
