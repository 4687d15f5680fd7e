"""The widget embedded with one script tag in a static page served from another origin."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tests.browser.helpers import ask, no_horizontal_overflow


def test_widget_on_an_allowed_site(open_page, embed_url, site_url, screenshot):
    page, log = open_page(embed_url)
    launcher = page.get_by_role("button", name="Ask Kizuna")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    # The host page's styles (button { background: hotpink }) do not reach into the widget.
    assert launcher.evaluate("el => getComputedStyle(el).backgroundColor") != "rgb(255, 105, 180)"
    screenshot(page, "widget-closed")

    launcher.click()
    panel = page.get_by_role("dialog", name="Ask Kizuna")
    expect(panel).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(panel.get_by_label("Your question")).to_be_focused()

    with page.expect_request(lambda r: r.url.endswith("/chat") and r.method == "POST") as sent:
        first = ask(page, "When did the Delhi Metro open its first line?", scope=panel)
    # A cross-origin call, allowed by the CORS allow-list.
    assert sent.value.all_headers()["origin"] == site_url
    assert sent.value.response().all_headers()["access-control-allow-origin"] == site_url
    expect(panel.locator(".kz-answer mark.kz-hl")).to_have_text(first["answer"])
    follow_up = ask(page, "Who financed it?", scope=panel)
    assert follow_up["standalone_question"] == "Who financed the Delhi Metro?"
    card = panel.locator(".kz-answer").last
    expect(card.locator("mark.kz-hl")).to_have_text(follow_up["answer"])
    expect(card.locator(".kz-searched")).to_contain_text("Who financed the Delhi Metro?")
    screenshot(page, "widget-answer")

    # The source opens inside the panel; the host page does not navigate.
    link = card.get_by_role("link", name=re.compile(r"^\[1\] The Delhi Metro"))
    link.click()
    cited = panel.locator(".kz-docview mark.kz-cited")
    expect(cited).to_have_text(follow_up["citations"][0]["text"])
    expect(cited).to_be_in_viewport()
    assert page.url == embed_url
    screenshot(page, "widget-document")

    # Escape: first back to the conversation, then the panel closes and focus returns to the button.
    page.keyboard.press("Escape")
    expect(panel.locator(".kz-docview")).to_be_hidden()
    expect(link).to_be_focused()
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert not log.errors and not log.dialogs


def test_widget_on_a_site_outside_the_allow_list_is_refused(open_page, other_embed_url, screenshot):
    page, log = open_page(other_embed_url)
    page.get_by_role("button", name="Ask Kizuna").click()
    panel = page.get_by_role("dialog", name="Ask Kizuna")
    panel.get_by_label("Your question").fill("When did the Delhi Metro open its first line?")
    panel.get_by_label("Your question").press("Enter")
    expect(panel.locator(".kz-error")).to_contain_text("could not be reached")
    expect(panel.locator(".kz-answer")).to_have_count(0)
    assert any("CORS" in e for e in log.errors), log.errors  # the browser blocked the call, not the widget
    screenshot(page, "widget-refused")


def test_widget_at_phone_width(open_page, embed_url, screenshot):
    page, log = open_page(embed_url, viewport=PHONE)
    page.get_by_role("button", name="Ask Kizuna").focus()
    page.keyboard.press("Enter")
    panel = page.get_by_role("dialog", name="Ask Kizuna")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box["width"] == PHONE["width"] and box["height"] == PHONE["height"]
    body = ask(page, "What markup does the note quote literally?", scope=panel)
    expect(panel.locator(".kz-answer blockquote")).to_contain_text('<script>alert("x")</script>')
    assert panel.locator(".kz-answer script, .kz-answer b").count() == 0
    assert no_horizontal_overflow(page)
    screenshot(page, "widget-phone")
    panel.locator(".kz-answer").last.get_by_role("link", name=re.compile(r"^\[1\]")).click()
    expect(panel.locator(".kz-docview mark.kz-cited")).to_have_text(body["citations"][0]["text"])
    expect(panel.locator(".kz-docview .kz-doc-text")).to_contain_text("<b>bold</b>")
    screenshot(page, "widget-phone-document")
    panel.get_by_role("button", name="Close the chat").click()
    expect(panel).to_be_hidden()
    assert not log.errors and not log.dialogs
