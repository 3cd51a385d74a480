"""Incidents: one thread per alert fingerprint (the store, queries and the service)."""
