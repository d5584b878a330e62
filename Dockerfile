# The canon-gate App, built from the lock: every dependency installed by hash from
# requirements/app.txt (an export of uv.lock), the wheel built with the pinned build backend.
# It runs as a non-root user; credentials come from the environment, a mounted file
# (GITHUB_APP_PRIVATE_KEY_PATH) or the .env that registration writes (CANON_GATE_ENV_FILE).

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements/ requirements/
RUN python -m venv /opt/canon-gate \
    && /opt/canon-gate/bin/pip install --require-hashes --no-deps -r requirements/app.txt \
    && python -m pip install --require-hashes --no-deps -r requirements/build.txt
COPY pyproject.toml README.md hatch_build.py manifest.yml ./
COPY app/ app/
COPY action/ action/
COPY workflows/ workflows/
ARG CANON_GATE_ACTION_REPO=""
ARG CANON_GATE_ACTION_SHA=""
ARG CANON_GATE_ACTION_TAG=""
RUN python -m hatchling build -t wheel -d /dist \
    && /opt/canon-gate/bin/pip install --no-deps /dist/canon_gate-*.whl

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/canon-gate canon-gate
COPY --from=build /opt/canon-gate /opt/canon-gate
ENV PATH=/opt/canon-gate/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    LOG_FORMAT=json \
    CANON_GATE_ENV_FILE=/var/lib/canon-gate/.env
USER 10001
WORKDIR /var/lib/canon-gate
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]
CMD ["canon-gate", "serve"]
