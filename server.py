"""Serve the Kizuna API and chat page: python server.py (host and port from RAG_HOST / RAG_PORT)."""

import uvicorn

from rag.api import create_app
from rag.settings import get_settings

if __name__ == "__main__":
    settings = get_settings()
    uvicorn.run(create_app(settings=settings), host=settings.host, port=settings.port)
