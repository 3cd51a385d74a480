"""Getting messages to people in Slack: everything here is queued in the outbox, which sends it."""
