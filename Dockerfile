# Switchboard: slim Python image, non-root user, `switchboard serve` as the entry point.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=3000 \
    LOG_FORMAT=json

WORKDIR /app
COPY pyproject.toml README.md manifest.yml ops.example.yml ./
COPY bot ./bot
COPY integrations ./integrations
COPY scheduler ./scheduler
RUN pip install . && useradd --create-home --uid 10001 switchboard && mkdir -p /data && chown switchboard /data

USER switchboard
ENV DATABASE_URL=sqlite:////data/switchboard.db \
    SWITCHBOARD_CONFIG=/config/ops.yml
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"3000\")}/healthz', timeout=2)"
ENTRYPOINT ["switchboard"]
CMD ["serve"]
