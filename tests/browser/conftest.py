"""Browser tests: a live Kizuna server and two static "other sites", driven by Playwright with Debian's chromium.

- api: uvicorn on 127.0.0.1:<free port> in a background thread, over a tiny index that includes a document quoting
  <script> and <b> markup literally (a .txt file, so the loader keeps it as text) and a long document whose cited
  sentence is far down (the document view must scroll to it).
- site: a static server on another port serving embed.html, whose origin is in the API's CORS allow-list.
- other_site: the same page from a third port, not in the allow-list: the widget loads but the API refuses it.

Screenshots go to reports/screenshots/ (not committed). Skipped only when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from rag.api import create_app
from rag.pipeline import QAPipeline
from rag.settings import PROJECT_ROOT, Settings
from tests.corpus_factory import make_corpus
from tests.live_server import free_port, serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = PROJECT_ROOT / "reports" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}

MARKUP_NOTE = """Markup handling note
This note quotes the markup <script>alert("x")</script> and <b>bold</b> literally, as plain text.
The widget must display such markup as text and never run it.
"""

# A long document whose cited sentence is far below the first screen: the document view has to scroll to it.
LONG_REPORT = "Harbour maintenance log\n" + "\n".join(
    f"Entry {n}: the crew inspected crane number {n} and warehouse {n + 100} during the routine harbour rounds."
    for n in range(1, 81)
) + "\nThe Kizuna lighthouse at the harbour entrance was repainted blue on 3 March 2021.\n"

# Questions the collection asks itself: the chat page's empty state offers them when it answers them well.
VISITOR_FAQ = """Ossel visitor centre: questions and answers
Q: When does the Ossel visitor centre open?
A: The Ossel visitor centre opens at 9 in the morning every day except Monday.
Q: How much does a guided tour of the Ossel lighthouse cost?
A: A guided tour of the Ossel lighthouse costs 12 euros for adults.
Q: Who designed the Ossel harbour bridge?
A: The Ossel harbour bridge was designed by the engineer Marta Velde in 1961.
"""

# A document with a long list of long source URLs: the source view must keep them from pushing the cited
# passage off a phone's screen or widening the page.
FERRY_SCHEDULE = "Ferry schedule of Ossel island\n" + "\n".join(
    f"Note {n}: the timetable for season {n} was posted at the mainland pier and in the island's post office."
    for n in range(1, 21)
) + "\nThe first ferry to Ossel island leaves the mainland pier at 6:40 every morning.\n" + "\n".join(
    f"Remark {n}: the fares for season {n} were unchanged from the year before." for n in range(1, 21))
FERRY_SOURCES = [f"https://archive.example.org/ferries/ossel-island-ferry-timetables-and-fare-tables-for-every-"
                 f"season-since-1952/part-{n}-of-the-complete-collection-of-printed-notices.html" for n in range(1, 16)]

EMBED_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Partner cities travel notes</title>
  <link rel="icon" href="data:,">
  <style>
    body {{ font-family: Georgia, serif; max-width: 720px; margin: 40px auto; padding: 0 16px; color: #333; }}
    button {{ background: hotpink; font-size: 30px; }} /* the widget's shadow root keeps this out */
  </style>
</head>
<body>
  <h1>Partner cities travel notes</h1>
  <p>A static page on another origin. The chat button in the corner comes from one script tag.</p>
  <p>Kyoto and Varanasi are both known for their temples and river ghats.</p>
  <script src="{api}/widget.js" data-api="{api}"></script>
</body>
</html>
"""

BROWSER_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason="browser tests need Debian's chromium at /usr/bin/chromium "
                                   "(apt-get install -y chromium)")
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(BROWSER_TESTS):
            item.add_marker(skip)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session")
def ports() -> dict[str, int]:
    chosen: set[int] = set()
    while len(chosen) < 3:
        chosen.add(free_port())
    api, site, other = sorted(chosen)
    return {"api": api, "site": site, "other_site": other}


@pytest.fixture(scope="session")
def api_url(ports) -> str:
    return f"http://127.0.0.1:{ports['api']}"


@pytest.fixture(scope="session")
def site_url(ports) -> str:
    return f"http://127.0.0.1:{ports['site']}"


@pytest.fixture(scope="session")
def other_site_url(ports) -> str:
    return f"http://127.0.0.1:{ports['other_site']}"


@pytest.fixture(scope="session")
def browser_pipeline(tmp_path_factory, encoder, api_url, site_url) -> QAPipeline:
    corpus = make_corpus(tmp_path_factory.mktemp("browser-corpus"))
    (corpus / "markup-note.txt").write_text(MARKUP_NOTE, encoding="utf-8")
    (corpus / "harbour-log.txt").write_text(LONG_REPORT, encoding="utf-8")
    (corpus / "visitor-faq.txt").write_text(VISITOR_FAQ, encoding="utf-8")
    (corpus / "ferry-schedule.txt").write_text(FERRY_SCHEDULE, encoding="utf-8")
    (corpus / "ferry-schedule.meta.yaml").write_text(
        "title: Ferry schedule of Ossel island\nsources:\n" + "".join(f"  - {url}\n" for url in FERRY_SOURCES),
        encoding="utf-8")
    # A fixed abstention threshold: these tests are about rendering, so refitting rag/calibration.json must not
    # turn the markup answer (confidence about 0.3) into an abstention; off-topic questions score below 0.01.
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("browser-index"), chunk_words=40,
                        chunk_overlap_words=10, cors_origins=[api_url, site_url], min_confidence=0.1)
    pipeline, _ = QAPipeline.build(settings, encoder=encoder)
    return pipeline


@pytest.fixture(scope="session")
def api(browser_pipeline, ports) -> Iterator[str]:
    with serve(create_app(browser_pipeline), ports["api"]) as url:
        yield url


@contextlib.contextmanager
def static_site(directory: Path, port: int) -> Iterator[None]:
    """A plain static HTTP server: the "other site" that embeds the widget."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, name=f"static-{port}", daemon=True)
    thread.start()
    yield
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def embed_dir(tmp_path_factory, api_url) -> Path:
    directory = tmp_path_factory.mktemp("embed-site")
    (directory / "embed.html").write_text(EMBED_PAGE.format(api=api_url), encoding="utf-8")
    return directory


@pytest.fixture(scope="session")
def embed_url(api, embed_dir, ports, site_url) -> Iterator[str]:
    """The embedding page on an origin in the API's CORS allow-list."""
    with static_site(embed_dir, ports["site"]):
        yield f"{site_url}/embed.html"


@pytest.fixture(scope="session")
def other_embed_url(api, embed_dir, ports, other_site_url) -> Iterator[str]:
    """The same page on an origin that is not in the allow-list."""
    with static_site(embed_dir, ports["other_site"]):
        yield f"{other_site_url}/embed.html"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class PageLog:
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser) -> Iterator[Callable[..., tuple[Page, PageLog]]]:
    """open_page(url, viewport=DESKTOP) -> (page, log of console errors, page errors and dialogs)."""
    contexts = []

    def opener(url: str, viewport: dict = DESKTOP) -> tuple[Page, PageLog]:
        context = browser.new_context(viewport=viewport, reduced_motion="reduce")
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        log = PageLog()
        page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: log.errors.append(str(e)))

        def on_dialog(dialog):
            log.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(url)
        return page, log

    yield opener
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Page, str], Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return take
