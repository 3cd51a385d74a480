"""Scheduled work: APScheduler jobs (outbox sweep, heartbeat, prune), claimed once per slot.

``scheduler.runner.build_scheduler`` builds it; ``python -m scheduler`` runs it alone.
"""
