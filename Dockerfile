# Switchboard: slim Python image, non-root user, `switchboard serve` as the entry point.
# Dependencies come from uv.lock (the versions the tests ran with), not from a fresh resolve.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    PORT=3000 \
    LOG_FORMAT=json

WORKDIR /app
RUN pip install uv==0.13.9
# The locked dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project
COPY README.md manifest.yml ops.example.yml ./
COPY bot ./bot
COPY integrations ./integrations
COPY scheduler ./scheduler
RUN uv sync --locked --no-dev --no-editable
RUN useradd --create-home --uid 10001 switchboard && mkdir -p /data && chown switchboard /data

USER switchboard
ENV PATH=/app/.venv/bin:$PATH \
    DATABASE_URL=sqlite:////data/switchboard.db \
    SWITCHBOARD_CONFIG=/config/ops.yml
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"3000\")}/healthz', timeout=2)"
ENTRYPOINT ["switchboard"]
CMD ["serve"]
