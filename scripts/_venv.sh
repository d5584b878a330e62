# Sourced by scripts/: create .venv on first use and install canon-gate with the given extra.
VENV="${CANON_GATE_VENV:-.venv}"
ensure_venv() {
  local extra="$1" stamp
  stamp="$VENV/.installed-$extra-$(sha256sum pyproject.toml | cut -c1-12)"
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  if [ ! -e "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[$extra]"
    touch "$stamp"
  fi
}
