"""Serve the Kizuna API and chat page: python server.py (host and port from RAG_HOST / RAG_PORT); the same as
`rag serve`, with its one-line errors and exit code 2 when the index is missing or damaged."""

import sys

from rag.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve"]))
