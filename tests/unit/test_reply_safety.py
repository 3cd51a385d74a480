"""What every reply may carry: fallback text that cannot ping a crowd, and answers posted for a
channel that ping nobody they name."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.commands.grammar import ParseProblem
from bot.views.help import render_problem
from bot.views.intent import render_did_you_mean, shared_by
from bot.views.mrkdwn import fields
from bot.views.reply import Reply, quiet_mrkdwn, safe_fallback


def test_fallback_text_shows_broadcasts_and_group_mentions_as_text():
    reply = Reply(text="I don't know `<!channel>`, <!here>, <!everyone> or <!subteam^S0ONCALL>")
    assert "<!" not in reply.text
    assert "&lt;!channel&gt;" in reply.text and "&lt;!subteam^S0ONCALL&gt;" in reply.text


def test_fallback_text_keeps_the_tokens_renderers_make():
    text = (
        "<@U0ML0EVA> asks · <#C0123DATA> · <!date^1795000000^{date_short_pretty}|Mon 23 Nov> "
        "· <https://airflow.example/dags/x|run> · a &amp; b &lt;c&gt;"
    )
    assert Reply(text=text).text == text


def test_fallback_text_escapes_stray_angle_brackets_but_not_entities():
    assert Reply(text="a < b > c &lt;d&gt; <mailto:x@example.com|mail>").text == (
        "a &lt; b &gt; c &lt;d&gt; &lt;mailto:x@example.com|mail&gt;"
    )


@given(st.text(max_size=200))
def test_fallback_text_is_safe_and_stays_safe(text: str) -> None:
    once = safe_fallback(text)
    assert safe_fallback(once) == once
    for token in ("<!channel", "<!here", "<!everyone", "<!subteam"):
        assert token not in once


def test_long_fallback_text_is_cut_visibly():
    assert len(Reply(text="x" * 5000).text) == 3000


def test_a_problem_reply_escapes_the_word_it_quotes_in_its_text():
    reply = render_problem(ParseProblem("I don't know the command `<!channel>`."), "<!channel>")
    assert "<!channel>" not in reply.text + str(reply.blocks)
    assert reply.text == "I don't know the command `&lt;!channel&gt;`."


def test_did_you_mean_text_escapes_the_labels_it_lists():
    reply = render_did_you_mean("x", [("<@U0EVIL123>", "pipeline x"), ("a & b", "model y")])
    assert reply.text == "Did you mean: &lt;@U0EVIL123&gt;, a &amp; b?"


def test_quiet_names_people_and_groups_without_notifying_them():
    text = "Leads <@U0DE0ANNA>, <@U0BOB|bob> · on-call <!subteam^S0ONCALL> · <!here> · <#C0123DATA>"
    assert quiet_mrkdwn(text) == (
        "Leads @U0DE0ANNA, @bob · on-call @S0ONCALL · @here · <#C0123DATA>"
    )


def test_a_shared_answer_pings_nobody_it_names_but_says_who_shared_it():
    answer = Reply(
        text="churn is owned by ML Platform",
        blocks=[fields(["*Leads*\n<@U0ML0EVA>", "*On-call*\n<!subteam^S0MLONCALL>"])],
    )
    shared = shared_by(answer, "U0ALICE", "owners churn")
    body = str(shared.blocks)
    assert "<@U0ML0EVA>" not in body and "<!subteam^" not in body and "@U0ML0EVA" in body
    assert "Shared by <@U0ALICE>" in body and shared.response_type == "in_channel"
