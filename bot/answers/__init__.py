"""Cross-domain answers: what the bot knows about pipelines, models, spend and teams, computed
from the sources and ops.yml into plain objects the renderers turn into Block Kit."""
