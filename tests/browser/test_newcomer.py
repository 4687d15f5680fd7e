"""What a newcomer meets on the chat page: the empty state and its example questions, the source view at every
width, the copy and feedback buttons, and the closest passage of a withheld answer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import FERRY_SOURCES
from tests.browser.helpers import ask, no_horizontal_overflow

WIDTHS = (320, 375, 768, 1280)


def test_the_empty_state_says_what_the_collection_is_and_its_examples_answer_when_clicked(
        open_page, api, browser_pipeline, screenshot):
    page, log = open_page(f"{api}/")
    documents = len(browser_pipeline.documents)
    expect(page.locator(".kz-titles summary")).to_have_text(f"{documents} documents in the collection")
    page.locator(".kz-titles summary").click()
    expect(page.locator(".kz-titles li").first).to_have_text(browser_pipeline.documents[0].title)
    examples = page.locator(".kz-example")
    expect(examples.first).to_be_visible()
    assert examples.count() >= 3
    # Drawn from the questions the documents ask themselves, and only those the service answers.
    texts = examples.all_inner_texts()
    assert any("Ossel" in t for t in texts) and all(t.endswith("?") for t in texts)
    screenshot(page, "page-empty-state")

    with page.expect_response(lambda r: r.url.endswith("/chat")) as reply:
        examples.first.click()
    body = reply.value.json()
    assert body["question"] == texts[0] and body["answer"] is not None
    expect(page.locator(".kz-answer mark.kz-hl")).to_have_text(body["answer"])
    expect(page.locator(".kz-user .kz-bubble")).to_have_text(texts[0])
    expect(page.locator(".kz-intro")).to_be_hidden()
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".kz-intro")).to_be_visible()
    assert not log.errors


@pytest.mark.parametrize("width", WIDTHS)
def test_the_source_view_fits_every_width_with_the_cited_passage_in_view(open_page, api, screenshot, width):
    page, log = open_page(f"{api}/", viewport={"width": width, "height": 740 if width < 800 else 800})
    body = ask(page, "When does the first ferry to Ossel island leave the mainland pier?")
    assert body["citations"][0]["doc_id"] == "ferry-schedule"
    assert no_horizontal_overflow(page)
    page.locator(".kz-answer").last.get_by_role("link", name=re.compile(r"^\[1\]")).click()
    view = page.locator(".kz-docview")
    cited = view.locator("mark.kz-cited")
    expect(cited).to_have_text(body["citations"][0]["text"])
    # The document's metadata waits behind a "Sources" toggle; the cited passage is on screen.
    toggle = view.locator(".kz-doc-details summary")
    expect(toggle).to_have_text(f"Sources ({len(FERRY_SOURCES)})")
    expect(view.locator(".kz-doc-links")).to_be_hidden()
    expect(cited).to_be_in_viewport()
    assert no_horizontal_overflow(page)
    screenshot(page, f"source-view-{width}")

    toggle.click()
    links = view.locator(".kz-doc-links a")
    expect(links).to_have_count(len(FERRY_SOURCES))
    panel = view.bounding_box()
    box = view.locator(".kz-doc-links").bounding_box()
    assert panel["x"] <= box["x"] and box["x"] + box["width"] <= panel["x"] + panel["width"] + 0.5
    # Opened, the list scrolls within a few lines instead of taking the panel.
    assert box["height"] < 0.4 * panel["height"]
    assert no_horizontal_overflow(page)
    screenshot(page, f"source-view-{width}-sources-open")
    assert not log.errors


def test_feedback_buttons_post_the_verdict_on_the_answer(open_page, api, screenshot):
    page, log = open_page(f"{api}/")
    body = ask(page, "How long is the Mumbai-Ahmedabad High-Speed Rail line?")
    card = page.locator(".kz-answer").last
    with page.expect_response(lambda r: r.url.endswith("/feedback") and r.request.method == "POST") as reply:
        card.get_by_role("button", name="Helpful", exact=True).click()
    assert reply.value.status == 201
    sent = reply.value.request.post_data_json
    span = body["answer_span"]
    assert sent == {"question": body["standalone_question"], "answer": body["answer"], "helpful": True,
                    "doc_id": span["doc_id"], "start": span["start"], "end": span["end"]}
    stored = reply.value.json()
    assert stored["helpful"] is True and stored["answer"] == body["answer"] and stored["id"]
    expect(card.get_by_role("button", name="Helpful", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(card.get_by_role("button", name="Not helpful")).to_be_disabled()
    expect(card.locator(".kz-action-status")).to_have_text("Thanks, your feedback was recorded.")
    screenshot(page, "page-feedback")
    assert not log.errors


def test_copy_answer_puts_the_quote_and_its_source_on_the_clipboard(open_page, api):
    page, log = open_page(f"{api}/")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=api)
    body = ask(page, "When did Kyoto and Varanasi sign the partner-city agreement?")
    card = page.locator(".kz-answer").last
    card.get_by_role("button", name="Copy answer").click()
    expect(card.locator(".kz-action-status")).to_have_text("Copied.")
    sentence = body["sentence"]
    assert page.evaluate("navigator.clipboard.readText()") == \
        f"{sentence['text']}\n\u2014 {sentence['title']} ({sentence['doc_id']})"
    assert not log.errors


def test_a_withheld_answer_offers_the_closest_passage_and_takes_feedback(open_page, api, screenshot):
    page, log = open_page(f"{api}/", viewport={"width": 375, "height": 740})
    body = ask(page, "What is the airspeed velocity of an unladen swallow?")
    assert body["answer"] is None and body["passages"]
    card = page.locator(".kz-answer").last
    expect(card.locator(".kz-closest-title")).to_have_text("Closest passage, not an answer:")
    expect(card.locator(".kz-closest-text")).to_have_text(body["passages"][0]["text"])
    expect(card.get_by_role("button", name="Copy answer")).to_have_count(0)
    assert no_horizontal_overflow(page)
    screenshot(page, "phone-withheld")

    with page.expect_response(lambda r: r.url.endswith("/feedback")) as reply:
        card.get_by_role("button", name="Not helpful").click()
    assert reply.value.status == 201
    assert reply.value.request.post_data_json == {"question": body["standalone_question"], "answer": None,
                                                  "helpful": False}
    card.get_by_role("link", name=re.compile(r"^\[1\]")).click()
    passage = body["passages"][0]
    expect(page.locator(".kz-docview mark.kz-cited")).to_have_text(passage["text"])
    assert not log.errors
