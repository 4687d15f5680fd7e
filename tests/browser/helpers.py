"""Shared steps of the browser tests."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect


def ask(page: Page, question: str, scope: Locator | Page | None = None) -> dict:
    """Type a question, send it with Enter, wait for the rendered reply; returns the /chat response body."""
    scope = scope or page
    box = scope.get_by_label("Your question")
    box.fill(question)
    with page.expect_response(lambda r: r.url.endswith("/chat") and r.request.method == "POST") as reply:
        box.press("Enter")
    expect(scope.locator(".kz-waiting")).to_have_count(0)
    return reply.value.json()


def no_horizontal_overflow(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
