"""The chat page (GET /) in headless Chromium: answers, sources, follow-ups, keyboard and phone width, and markup."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tests.browser.helpers import ask, no_horizontal_overflow


def test_question_shows_a_cited_answer_and_the_source_highlights_it(open_page, api, screenshot):
    page, log = open_page(f"{api}/")
    expect(page.get_by_role("heading", name="Kizuna")).to_be_visible()

    body = ask(page, "When did Kyoto and Varanasi sign the partner-city agreement?")
    assert body["answer"] and "30 August 2014" in body["sentence"]["text"]
    card = page.locator(".kz-answer").last
    # The quoted sentence, with the answering part highlighted (a shorter span, or today the whole sentence).
    expect(card.locator("blockquote")).to_have_text(body["sentence"]["text"] + "[1]")
    expect(card.locator("blockquote mark.kz-hl")).to_have_text(body["answer"])
    expect(card.locator(".kz-confidence")).to_contain_text(f"{int(body['confidence'] * 100 + 1e-9)}%")
    # Announced politely for screen readers.
    expect(page.locator("[role=status][aria-live=polite]")).to_contain_text(body["answer"])
    link = card.get_by_role("link", name=re.compile(r"^\[1\] Kyoto and Varanasi"))
    expect(link).to_be_visible()
    screenshot(page, "page-answer")

    link.click()
    citation = body["citations"][0]
    expect(page).to_have_url(re.compile(rf"#doc=kyoto-varanasi&start={citation['start']}&end={citation['end']}"))
    view = page.locator(".kz-docview")
    expect(view.get_by_role("heading", name="Kyoto and Varanasi: partner cities")).to_be_visible()
    cited = view.locator("mark.kz-cited")
    expect(cited).to_have_text(citation["text"])
    expect(cited).to_be_in_viewport()
    expect(cited).to_be_focused()
    screenshot(page, "page-document")

    page.get_by_role("button", name="Back to the conversation").click()
    expect(view).to_be_hidden()
    expect(link).to_be_focused()
    assert not log.errors and not log.dialogs


def test_document_view_scrolls_to_a_span_far_down(open_page, api, screenshot):
    page, log = open_page(f"{api}/")
    body = ask(page, "When was the Kizuna lighthouse repainted blue?")
    assert body["citations"][0]["doc_id"] == "harbour-log"
    page.locator(".kz-answer").last.get_by_role("link", name=re.compile(r"^\[1\]")).click()
    cited = page.locator(".kz-docview mark.kz-cited")
    expect(cited).to_have_text(body["citations"][0]["text"])
    expect(cited).to_be_in_viewport()
    assert page.locator(".kz-doc-text").evaluate("el => el.scrollTop") > 500
    screenshot(page, "page-document-scrolled")

    # A document link opened directly (new tab, bookmark) shows the same view.
    fresh = page.context.new_page()
    fresh.goto(page.url)
    expect(fresh.locator(".kz-docview mark.kz-cited")).to_have_text(body["citations"][0]["text"])
    expect(fresh.locator(".kz-docview mark.kz-cited")).to_be_in_viewport()
    assert not log.errors


def test_follow_up_question_in_the_same_conversation(open_page, api, screenshot):
    page, log = open_page(f"{api}/")
    first = ask(page, "When did the Delhi Metro open its first line?")
    assert "24 December 2002" in first["sentence"]["text"]
    follow_up = ask(page, "Who financed it?")
    assert follow_up["standalone_question"] == "Who financed the Delhi Metro?"
    assert "Japanese official loans" in follow_up["sentence"]["text"]

    cards = page.locator(".kz-answer")
    expect(cards).to_have_count(2)
    expect(cards.nth(1).locator("mark.kz-hl")).to_have_text(follow_up["answer"])
    expect(cards.nth(1).locator(".kz-searched")).to_have_text("Searched for: Who financed the Delhi Metro?")
    expect(cards.nth(0).locator(".kz-searched")).to_have_count(0)
    screenshot(page, "page-follow-up")

    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".kz-turn")).to_have_count(0)
    expect(page.get_by_label("Your question")).to_be_focused()

    # Search terms carried over in parentheses are not a question to show: the user's own words stand alone.
    ask(page, "How long is the Mumbai-Ahmedabad High-Speed Rail line?")
    terms = ask(page, "And when?")
    assert terms["show_rewrite"] is False and "(" in terms["standalone_question"]
    expect(page.locator(".kz-answer").last.locator(".kz-searched")).to_have_count(0)
    assert not log.errors


def test_no_answer_is_shown_plainly(open_page, api, screenshot):
    page, log = open_page(f"{api}/")
    body = ask(page, "What is the airspeed velocity of an unladen swallow?")
    assert body["answer"] is None
    card = page.locator(".kz-answer").last
    expect(card).to_contain_text("No answer.")
    expect(card).to_contain_text(body["message"])
    expect(card.locator("mark")).to_have_count(0)
    # The closest passage is offered to read, marked as not an answer (tests/browser/test_newcomer.py).
    expect(card.get_by_role("link")).to_have_count(1)
    expect(page.locator("[role=status][aria-live=polite]")).to_contain_text("No answer.")
    screenshot(page, "page-no-answer")
    assert not log.errors


def test_markup_in_documents_is_shown_as_text(open_page, api, screenshot):
    page, log = open_page(f"{api}/")
    body = ask(page, "What markup does the note quote literally?")
    sentence = body["sentence"]["text"]
    assert '<script>alert("x")</script>' in sentence and "<b>bold</b>" in sentence
    card = page.locator(".kz-answer").last
    expect(card.locator("blockquote")).to_contain_text('<script>alert("x")</script> and <b>bold</b>')
    assert card.locator("script, b").count() == 0
    screenshot(page, "page-markup-answer")

    card.get_by_role("link", name=re.compile(r"^\[1\]")).click()
    view = page.locator(".kz-docview")
    expect(view.locator("mark.kz-cited")).to_contain_text('<script>alert("x")</script>')
    expect(view.locator(".kz-doc-text")).to_contain_text("<b>bold</b>")
    assert view.locator(".kz-doc-text script, .kz-doc-text b").count() == 0
    screenshot(page, "page-markup-document")
    assert log.dialogs == [], "a script from a document ran"
    assert not log.errors


def test_keyboard_only_at_phone_width(open_page, api, screenshot):
    page, log = open_page(f"{api}/", viewport=PHONE)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="New conversation")).to_be_focused()
    # Then the empty state: the list of titles and each example question, and then the question box.
    page.keyboard.press("Tab")
    expect(page.locator(".kz-titles summary")).to_be_focused()
    for example in page.locator(".kz-example").all():
        page.keyboard.press("Tab")
        expect(example).to_be_focused()
    page.keyboard.press("Tab")
    box = page.get_by_label("Your question")
    expect(box).to_be_focused()
    page.keyboard.type("How long is the Mumbai-Ahmedabad High-Speed Rail line?")
    with page.expect_response(lambda r: r.url.endswith("/chat")) as reply:
        page.keyboard.press("Enter")
    body = reply.value.json()
    expect(page.locator(".kz-answer mark.kz-hl")).to_have_text(body["answer"])
    expect(box).to_be_focused()
    assert no_horizontal_overflow(page)
    screenshot(page, "phone-answer")

    # Back from the question box past the answer's buttons (not helpful, helpful, copy) to its newest source link,
    # open it with Enter, close it with Escape.
    card = page.locator(".kz-answer").last
    for name in ("Not helpful", "Helpful", "Copy answer"):
        page.keyboard.press("Shift+Tab")
        expect(card.get_by_role("button", name=name, exact=True)).to_be_focused()
    page.keyboard.press("Shift+Tab")
    link = card.get_by_role("link", name=re.compile(r"^\[1\]"))
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    cited = page.locator(".kz-docview mark.kz-cited")
    expect(cited).to_have_text(body["citations"][0]["text"])
    expect(cited).to_be_in_viewport()
    expect(page.locator(".kz-chat")).to_be_hidden()
    assert no_horizontal_overflow(page)
    screenshot(page, "phone-document")
    page.keyboard.press("Escape")
    expect(page.locator(".kz-docview")).to_be_hidden()
    expect(link).to_be_focused()
    assert not log.errors
