"""The chat page (GET /), the embeddable widget (GET /widget.js) and their static files, from rag/web/.

Plain files, no build step. Only files that exist in rag/web/ with a known type are served, by name.
"""

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
# The page runs only its own files: no inline script, nothing from elsewhere; documents are shown as text anyway.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")

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
