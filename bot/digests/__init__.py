"""Scheduled digests: what one says (compose) and, elsewhere, when and how it is posted."""
