"""Operator endpoints: liveness, readiness (DB and migrations) and Prometheus metrics."""

from __future__ import annotations

import httpx


async def test_healthz_and_readyz(running_app_on):
    async with httpx.AsyncClient(base_url=running_app_on.url) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True, "reason": "ok"}


async def test_metrics_count_requests_per_surface(running_app):
    await running_app.signer.slash_command(text="help")
    await running_app.signer.post_raw(b"x", "application/x-www-form-urlencoded", sign=False)
    async with httpx.AsyncClient(base_url=running_app.url) as client:
        text = (await client.get("/metrics")).text
    assert 'switchboard_requests_total{status="200",surface="slash_command"}' in text
    assert 'switchboard_requests_total{status="401",surface="unknown"}' in text
    assert 'switchboard_request_seconds_bucket{le="0.1",surface="slash_command"}' in text
