"""Scheduled digests: what one says (compose) and when and how it is posted (slots, posting)."""
