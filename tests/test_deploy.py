"""The App's image and compose file: what can be checked without a container engine.

There is no Docker engine here, so the image is not built; instead its install and entry
commands run in a clean virtual environment, from the lock and the built wheel, exactly as the
Dockerfile runs them, and the Dockerfile passes hadolint.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
UV = [sys.executable, "-m", "uv"]


def scripts(name: str) -> str:
    return str(Path(sysconfig.get_path("scripts")) / name)


def instruction(dockerfile: str, name: str) -> str:
    """The last `NAME ...` instruction of the final stage, continuation lines joined."""
    text = dockerfile.replace("\\\n", " ")
    final = text.split("\nFROM ")[-1]
    return [line for line in final.splitlines() if line.startswith(name + " ")][-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_dockerfile_passes_hadolint() -> None:
    done = subprocess.run(
        [scripts("hadolint"), "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_installs_from_the_lock_and_runs_as_a_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes --no-deps -r requirements/app.txt" in dockerfile
    assert "--require-hashes --no-deps -r requirements/build.txt" in dockerfile
    assert instruction(dockerfile, "USER") == "USER 10001"
    assert "/healthz" in instruction(dockerfile, "HEALTHCHECK")


def test_the_images_install_and_entry_commands_work_from_the_wheel(tmp_path: Path) -> None:
    # The build stage: the wheel, built by the pinned backend from a copy of the sources.
    source = tmp_path / "src"
    for name in ("pyproject.toml", "README.md", "hatch_build.py", "manifest.yml"):
        source.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    for package in ("app", "action", "workflows"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path / "dist")],
        cwd=source, check=True, capture_output=True,
    )  # fmt: skip
    [wheel] = (tmp_path / "dist").glob("canon_gate-*.whl")
    # A clean environment gets requirements/app.txt by hash (offline: the locked artifacts),
    # then the wheel without dependencies, as the Dockerfile's RUN lines do.
    venv = tmp_path / "opt"
    subprocess.run([*UV, "venv", "-q", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    for args in (
        ["--require-hashes", "--no-deps", "-r", str(ROOT / "requirements" / "app.txt")],
        ["--no-deps", str(wheel)],
    ):
        done = subprocess.run(
            [*UV, "pip", "install", "--offline", "-q", "--python", python, *args],
            capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    # The entry command serves, and the HEALTHCHECK command finds it healthy.
    dockerfile = (ROOT / "Dockerfile").read_text()
    health = json.loads(instruction(dockerfile, "HEALTHCHECK").split(" CMD ", 1)[1])
    command = json.loads(instruction(dockerfile, "CMD").removeprefix("CMD "))
    port = str(free_port())
    env = {
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "HOST": "127.0.0.1",
        "PORT": port,
        "LOG_FORMAT": "json",
    }
    server = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            probe = subprocess.run([str(venv / "bin" / health[0]), *health[1:]], env=env)
            if probe.returncode == 0:
                break
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the App never became healthy"
            time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0


def test_compose_puts_the_app_behind_a_tls_proxy() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    app, proxy = compose["services"]["canon-gate"], compose["services"]["proxy"]
    assert app["build"] == "."
    assert "canon-gate-data:/var/lib/canon-gate" in app["volumes"]
    assert "443:443" in proxy["ports"]
    assert proxy["depends_on"]["canon-gate"]["condition"] == "service_healthy"
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "reverse_proxy canon-gate:3000" in caddyfile
