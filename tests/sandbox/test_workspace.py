"""The sandbox's Slack workspace and client without HTTP: modal stacks, ephemerals acted on through
response_urls, what each person sees, and the payloads a click makes."""

from __future__ import annotations

from typing import Any

from bot.sandbox.client import SandboxClient, _action_payload, _element
from bot.sandbox.slack_api import WebApi

TOKEN = {"authorization": "Bearer xoxb-test"}


def modal(title: str, *blocks: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Go"},
        "blocks": list(blocks),
    }


def test_modals_open_for_the_person_whose_action_made_the_trigger_and_stack() -> None:
    api = WebApi(base_url="http://sandbox")
    trigger = api.issue_trigger("U_ALICE")
    root = api.dispatch("views.open", {"trigger_id": trigger, "view": modal("One")}, TOKEN)["view"]
    pushed = api.dispatch("views.push", {"trigger_id": trigger, "view": modal("Two")}, TOKEN)[
        "view"
    ]
    assert [v["title"]["text"] for v in api.view_stack("U_ALICE")] == ["One", "Two"]
    assert pushed["previous_view_id"] == root["id"] and pushed["root_view_id"] == root["id"]
    assert api.view_stack("U_BOB") == []
    # A trigger Slack never issued (the tests make their own) opens no one's modal.
    api.dispatch("views.open", {"trigger_id": "made.up", "view": modal("Three")}, TOKEN)
    assert len(api.view_stack("U_ALICE")) == 2


def test_a_submissions_answer_shows_errors_updates_pushes_or_closes() -> None:
    api = WebApi()
    trigger = api.issue_trigger("U_ALICE")
    view = api.dispatch("views.open", {"trigger_id": trigger, "view": modal("Ask")}, TOKEN)["view"]
    errors = {"response_action": "errors", "errors": {"amount": "Not a number"}}
    assert api.apply_view_response("U_ALICE", view["id"], errors) is None
    assert api.view_errors[view["id"]] == {"amount": "Not a number"}
    update = {"response_action": "update", "view": modal("Fixed")}
    assert api.apply_view_response("U_ALICE", view["id"], update) is None
    assert api.view_errors.get(view["id"]) is None  # a new submission clears old errors
    assert api.view_stack("U_ALICE")[0]["title"]["text"] == "Fixed"
    push = {"response_action": "push", "view": modal("Next")}
    assert api.apply_view_response("U_ALICE", view["id"], push) is None
    top = api.view_stack("U_ALICE")[-1]
    assert top["title"]["text"] == "Next"
    assert api.apply_view_response("U_ALICE", top["id"], {}) is None  # closes the top only
    assert [v["title"]["text"] for v in api.view_stack("U_ALICE")] == ["Fixed"]
    bad = {"response_action": "update", "view": {"type": "modal", "blocks": []}}
    refused = api.apply_view_response("U_ALICE", view["id"], bad)
    assert refused is not None and "/view/title" in str(refused["errors"])
    assert api.apply_view_response("U_ALICE", view["id"], {"response_action": "clear"}) is None
    assert api.view_stack("U_ALICE") == []


def test_ephemerals_are_seen_only_by_their_person_and_replaced_or_deleted_in_place() -> None:
    api = WebApi(base_url="http://sandbox")
    working = api.add_ephemeral("C1", "U_ALICE", {"text": "Working on it…"})
    api.post("C1", {"text": "for everyone"})
    assert [m["text"] for m in api.visible_to("U_ALICE", "C1")] == [
        "Working on it…",
        "for everyone",
    ]
    assert [m["text"] for m in api.visible_to("U_BOB", "C1")] == ["for everyone"]
    api.response_url("cmd", channel="C1", user="U_ALICE", ephemeral=True)
    api.aim_response_url("cmd", working["ts"])
    assert api.answer_response_url("cmd", {"text": "done", "replace_original": True})[0] == 200
    assert [e["text"] for e in api.ephemerals("C1")] == ["done"]
    assert api.answer_response_url("cmd", {"delete_original": True})[0] == 200
    assert api.ephemerals("C1") == []


def test_an_ephemeral_replaced_by_an_in_channel_answer_becomes_visible_to_everyone() -> None:
    api = WebApi(base_url="http://sandbox")
    shown = api.add_ephemeral("C1", "U_ALICE", {"text": "only you"})
    api.response_url("a", channel="C1", message_ts=shown["ts"], user="U_ALICE", ephemeral=True)
    body = {"text": "all of you", "response_type": "in_channel", "replace_original": True}
    api.answer_response_url("a", body)
    assert api.ephemerals("C1") == []
    assert [m["text"] for m in api.visible_to("U_BOB", "C1")] == ["all of you"]


def test_people_posting_keeps_slacks_thread_bookkeeping_and_tells_listeners() -> None:
    api = WebApi()
    heard: list[int] = []
    api.on_change(lambda: heard.append(api.version))
    parent = api.post_as_user("C1", "U_ALICE", "question")
    api.post("C1", {"text": "answer", "thread_ts": parent["ts"]})
    stored = api.messages("C1")[0]
    assert stored["reply_count"] == 1 and stored["thread_ts"] == parent["ts"]
    assert len(heard) == 2 and heard == sorted(heard)


SELECTS = {
    "type": "actions",
    "block_id": "pickers",
    "elements": [
        {
            "type": "overflow",
            "action_id": "menu",
            "options": [{"text": {"type": "plain_text", "text": "Mute"}, "value": "mute"}],
        },
        {
            "type": "static_select",
            "action_id": "team",
            "option_groups": [
                {
                    "label": {"type": "plain_text", "text": "Teams"},
                    "options": [{"text": {"type": "plain_text", "text": "ML"}, "value": "ml"}],
                }
            ],
        },
        {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}},
    ],
}


def test_a_click_becomes_slacks_action_payload_from_what_was_stored() -> None:
    blocks = [{"type": "divider"}, SELECTS]
    element, block_id = _element(blocks, {"block_index": 1, "action_id": "menu"})
    assert block_id == "pickers" and element is not None
    sent = _action_payload(element, block_id, {"value": "mute"})
    assert sent["selected_option"] == {
        "text": {"type": "plain_text", "text": "Mute"},
        "value": "mute",
    }
    element, _ = _element(blocks, {"block_index": 1, "action_id": "team"})
    assert element is not None
    assert _action_payload(element, "pickers", {"value": "ml"})["selected_option"]["value"] == "ml"
    element, _ = _element(blocks, {"block_index": 1, "action_id": "go"})
    assert element is not None
    button = _action_payload(element, "pickers", {"value": "forged"})
    assert "value" not in button  # the page cannot put a value the message does not carry
    assert _element(blocks, {"block_index": 0, "action_id": "menu"})[0] is None
    assert _element(blocks, {"block_index": 9, "action_id": "menu"})[0] is None
    unnamed, made_up = _element(
        [{"type": "actions", "elements": SELECTS["elements"]}],
        {"block_index": 0, "action_id": "go"},
    )
    assert unnamed is not None and made_up == "sandbox-block-0"


def test_typed_text_is_escaped_and_mentions_become_slack_mentions() -> None:
    api = WebApi(users=[{"id": "U0ML0EVA", "name": "eva"}])
    client = SandboxClient(api, app_url="http://127.0.0.1:9", signing_secret="s")
    said = client._mentions("@switchboard ask @eva & @nobody <b>hi</b> me@example.com")
    assert said == "<@U_BOT> ask <@U0ML0EVA> &amp; @nobody &lt;b&gt;hi&lt;/b&gt; me@example.com"
