"""Command line: rag index | ask | serve | eval."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.settings import get_settings


def _index(args: argparse.Namespace) -> int:
    from rag.embedding import Encoder
    from rag.store import IndexBuilder

    settings = get_settings()
    corpus, index_dir = Path(args.corpus or settings.corpus_dir), Path(args.index or settings.index_dir)
    encoder = Encoder(settings.model, settings.embed_batch_size)
    report = IndexBuilder(settings, encoder).run(corpus, index_dir, progress=not args.quiet, force=args.force)
    print(f"{report.status}: {report.documents} documents, {report.chunks} chunks in {index_dir} "
          f"({report.embedded_documents} embedded, {report.reused_documents} reused, {report.seconds:.1f} s)")
    return 0


def _ask(args: argparse.Namespace) -> int:
    from rag.pipeline import QAPipeline

    settings = get_settings()
    if args.index:
        settings = settings.model_copy(update={"index_dir": Path(args.index)})
    answer = QAPipeline(settings).ask(args.question, args.top_k)
    if args.json:
        from rag.api.schemas import answer_out

        print(json.dumps(answer_out(answer, 0.0).model_dump(exclude={"took_ms"}), indent=2, ensure_ascii=False))
        return 0
    if answer.answer is None:
        print(f"No answer. {answer.message} (confidence {answer.confidence:.2f})")
    else:
        print(f"{answer.answer}\n(confidence {answer.confidence:.2f})")
        for n, c in enumerate(answer.citations, 1):
            print(f"[{n}] {c.title} — {c.doc_id} [{c.start}:{c.end}]\n    \"{c.text}\"")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from rag.api import create_app

    settings = get_settings()
    uvicorn.run(create_app(settings=settings), host=args.host or settings.host, port=args.port or settings.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Kizuna: extractive, cited question answering.")
    commands = parser.add_subparsers(dest="command", required=True)

    index = commands.add_parser("index", help="build or refresh the index (re-embeds only changed documents)")
    index.add_argument("--corpus", help="documents directory (default: RAG_CORPUS_DIR or docs_corpus/)")
    index.add_argument("--index", help="index directory (default: RAG_INDEX_DIR or index/)")
    index.add_argument("--force", action="store_true", help="rebuild even when the index is up to date")
    index.add_argument("--quiet", action="store_true", help="no progress bar")
    index.set_defaults(run=_index)

    ask = commands.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--top-k", type=int, default=5)
    ask.add_argument("--index", help="index directory")
    ask.add_argument("--json", action="store_true", help="print the API's JSON answer")
    ask.set_defaults(run=_ask)

    serve = commands.add_parser("serve", help="serve the API and chat page")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(run=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from rag.embedding import ModelNotAvailable
    from rag.loaders import LoadError
    from rag.store import IndexMismatch, IndexNotFound

    try:
        return args.run(args)
    except (IndexNotFound, IndexMismatch, ModelNotAvailable, LoadError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
