# Sourced by scripts/: make .venv hold exactly what uv.lock names, on first use and whenever the
# lock changes. uv itself is installed first, pinned by hash (requirements/bootstrap.txt), into
# its own small environment (.uv), so that `uv sync` can keep .venv exact.
VENV="${CANON_GATE_VENV:-.venv}"
UV_HOME="${CANON_GATE_UV:-.uv}"
UV="$UV_HOME/bin/uv"
ensure_venv() {
  local stamp
  stamp="$VENV/.synced-$(cat uv.lock requirements/bootstrap.txt | sha256sum | cut -c1-12)"
  [ -e "$stamp" ] && return 0
  # The one slow step (about 10 s here, longer on a slow network: the lock holds ~700 MB of
  # wheels, the Claude Code CLI among them); say so rather than sit silent.
  echo "canon-gate: installing its dependencies into $VENV from uv.lock (first run, or the lock changed)..." >&2
  if [ ! -x "$UV" ]; then
    python3 -m venv "$UV_HOME"
    "$UV_HOME/bin/python" -m pip install --quiet --disable-pip-version-check \
      --require-hashes --no-deps -r requirements/bootstrap.txt
  fi
  # --locked: refuse to run if uv.lock is not current with pyproject.toml; every extra, so that
  # every documented command works (serve, audit, init, receive, structure, eval).
  UV_PROJECT_ENVIRONMENT="$VENV" "$UV" sync --locked --all-extras --quiet
  touch "$stamp"
  echo "canon-gate: installed." >&2
}
