"""The chat page (GET /), the embeddable widget (GET /widget.js) and their static files, from rag/web/.

Plain files, no build step. Only files that exist in rag/web/ with a known type are served, by name.
"""

from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
# The page runs only its own files: no inline script, nothing from elsewhere; documents are shown as text anyway.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")

# The API explorer's files, from the installed swagger-ui-bundle package: /docs works offline.
SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)
SWAGGER_FILES = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8",
                 "favicon-32x32.png": "image/png"}

router = APIRouter(tags=["web"])


def _file(name: str, headers: dict[str, str] | None = None) -> FileResponse:
    path = WEB_DIR / name
    media_type = MEDIA_TYPES.get(path.suffix)
    if "/" in name or "\\" in name or name.startswith(".") or media_type is None or not path.is_file():
        raise HTTPException(404, f"no such file: {name}")
    return FileResponse(path, media_type=media_type,
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", **(headers or {})})


@router.get("/", include_in_schema=False)
def chat_page() -> FileResponse:
    return _file("index.html", {"Content-Security-Policy": PAGE_POLICY, "Referrer-Policy": "no-referrer"})


@router.get("/widget.js", include_in_schema=False)
def widget() -> FileResponse:
    """Embed with <script src="http://HOST:PORT/widget.js" data-api="http://HOST:PORT"></script>."""
    return _file("widget.js")


@router.get("/static/{name}", include_in_schema=False)
def static_file(name: str) -> FileResponse:
    if name.endswith(".html"):
        raise HTTPException(404, f"no such file: {name}")
    return _file(name)


@router.get("/docs", include_in_schema=False)
def api_docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Kizuna API",
                               swagger_js_url="/docs/static/swagger-ui-bundle.js",
                               swagger_css_url="/docs/static/swagger-ui.css",
                               swagger_favicon_url="/docs/static/favicon-32x32.png")


@router.get("/docs/static/{name}", include_in_schema=False)
def api_docs_file(name: str) -> FileResponse:
    if name not in SWAGGER_FILES:
        raise HTTPException(404, f"no such file: {name}")
    return FileResponse(SWAGGER_DIR / name, media_type=SWAGGER_FILES[name], headers={"Cache-Control": "max-age=86400"})
