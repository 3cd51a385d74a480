"""Inbound webhooks: one module per sender, each with its router; `webhook_router` includes them
all, so the app mounts every webhook in one call. Shared pieces: body.py (size limit, JSON,
answers), signing.py (HMAC, replay window), deliveries.py (each delivery handled once)."""

from __future__ import annotations

from fastapi import APIRouter

from bot.services import Services
from bot.webhooks import alertmanager, generic, mlflow


def webhook_router(services: Services) -> APIRouter:
    """Every webhook endpoint (`POST /webhooks/<sender>`), served with `services`."""
    router = APIRouter()
    router.include_router(mlflow.mlflow_router(services))
    router.include_router(alertmanager.alertmanager_router(services))
    router.include_router(generic.generic_router(services))
    return router
