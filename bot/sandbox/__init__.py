"""The sandbox of `switchboard demo`: Slack played locally (slack_api/) and a page to use it."""
