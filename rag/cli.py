"""Command line: rag index | ask | serve | eval | feedback export."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.settings import get_settings


def _index(args: argparse.Namespace) -> int:
    from rag.store import IndexBuilder
    from rag.uploads import UploadStore

    settings = get_settings()
    corpus, index_dir = Path(args.corpus or settings.corpus_dir), Path(args.index or settings.index_dir)
    settings = settings.model_copy(update={"index_dir": index_dir, **({"data_dir": Path(args.data)} if args.data else {})})
    report = IndexBuilder(settings).run(corpus, index_dir, progress=not args.quiet, force=args.force,
                                        uploads=UploadStore(settings.resolved_data_dir))
    for name, why in report.skipped:
        print(f"skipped {name}: {why}", file=sys.stderr)
    print(f"{report.status}: {report.documents} documents, {report.chunks} chunks in {index_dir} "
          f"({report.embedded_documents} embedded, {report.reused_documents} reused, {report.seconds:.1f} s)")
    if report.stages and not args.quiet:
        stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.stages.items())
        print(f"{report.embedded_texts} texts embedded ({settings.encoder_backend}); {stages}")
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
    from rag.api import create_app
    from rag.api.server import run
    from rag.pipeline import QAPipeline

    settings = get_settings()
    host, port = args.host or settings.host, args.port or settings.port
    # Loaded before the server starts, so a missing or damaged index is one line and exit code 2 (main), not a
    # traceback from inside the server's start-up.
    pipeline = QAPipeline(settings)
    served = settings.model_copy(update={"host": host, "port": port})
    print(f"Kizuna: {len(pipeline.documents)} documents; the chat page at {served.base_url}/, the API reference at "
          f"{served.base_url}/docs\nEmbed the widget: <script src=\"{served.base_url}/widget.js\" "
          f"data-api=\"{served.base_url}\"></script>", flush=True)
    if settings.workers == 1:
        run(create_app(pipeline), host, port)
    else:  # each worker process builds its own app and pipeline from the same settings
        del pipeline
        run("rag.api:create_app", host, port, settings.workers)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from rag.evaluation import main as evaluate

    return evaluate(args)


def _feedback_export(args: argparse.Namespace) -> int:
    from rag.feedback import FeedbackStore

    store = FeedbackStore(Path(args.data) if args.data else get_settings().resolved_data_dir)
    try:
        counts = store.export_gold(Path(args.out), args.split)
    finally:
        store.close()
    superseded = f" ({counts.superseded} earlier verdicts on the same questions left out)" if counts.superseded else ""
    print(f"{counts.answers} answers, {counts.review} for review → {args.out}{superseded}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Kizuna: extractive, cited question answering.")
    commands = parser.add_subparsers(dest="command", required=True)

    index = commands.add_parser("index", help="build or refresh the index (re-embeds only changed documents)")
    index.add_argument("--corpus", help="documents directory (default: RAG_CORPUS_DIR or docs_corpus/)")
    index.add_argument("--index", help="index directory (default: RAG_INDEX_DIR or index/)")
    index.add_argument("--data", help="uploaded documents (default: RAG_DATA_DIR or <index>-data/)")
    index.add_argument("--force", action="store_true", help="rebuild even when the index is up to date")
    index.add_argument("--quiet", action="store_true", help="no progress bar")
    index.set_defaults(run=_index)

    ask = commands.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--top-k", type=int, help="passages to retrieve (default RAG_DEFAULT_TOP_K)")
    ask.add_argument("--index", help="index directory")
    ask.add_argument("--json", action="store_true", help="print the API's JSON answer")
    ask.set_defaults(run=_ask)

    serve = commands.add_parser("serve", help="serve the API and chat page")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(run=_serve)

    evaluate = commands.add_parser("eval", help="measure retrieval, answers, citations and latency",
                                   description="Evaluate on a gold JSONL set (in-process or over HTTP), or on "
                                               "SQuAD v1.1 / a BEIR dataset with an index of their own.")
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--gold", help='gold JSONL: {"id", "question", "answers", "doc_ids"?, "kind"?, "split"?} '
                                       "per line")
    source.add_argument("--squad", help="SQuAD v1.1 JSON (e.g. dev-v1.1.json): open retrieval over its paragraphs")
    source.add_argument("--beir", help="BEIR dataset directory (corpus.jsonl, queries.jsonl, qrels/test.tsv)")
    evaluate.add_argument("--url", help="ask a running server (POST /ask, GET /search) instead of in-process (--gold)")
    evaluate.add_argument("--out", help="report directory (default reports/eval/, reports/squad/ or reports/beir/)")
    evaluate.add_argument("--top-k", type=int, default=10, help="documents ranked for the retrieval metrics")
    evaluate.add_argument("--limit", type=int, help="only the first N questions (queries)")
    evaluate.add_argument("--split", choices=("test", "dev", "all"), default="test",
                          help="--gold: which split to ask (default test, the held-out one; dev is for tuning)")
    evaluate.add_argument("--given-paragraph", action="store_true",
                          help="--squad: read each question's own paragraph (the reader alone, no retrieval)")
    evaluate.add_argument("--min", action="append", default=[], metavar="METRIC=VALUE",
                          help="exit 1 when METRIC is below VALUE, e.g. --min recall@5=0.8 (repeatable)")
    evaluate.add_argument("--index-dir", help="index for --squad/--beir (default reports/bench-index/<name>/; "
                                              "never index/)")
    evaluate.set_defaults(run=_eval)

    feedback = commands.add_parser("feedback", help="users' verdicts on answers (POST /feedback)")
    actions = feedback.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", help="write them as gold JSONL for rag eval --gold",
                                description="Helpful answers become gold answers; unhelpful or "
                                            'withheld ones become lines marked "review": true, which rag eval '
                                            "skips. The latest verdict on a question wins.")
    export.add_argument("--out", required=True, help="the gold JSONL file to write")
    export.add_argument("--data", help="where the feedback is kept (default: RAG_DATA_DIR or <index>-data/)")
    export.add_argument("--split", choices=("test", "dev"), default="test",
                        help="the split the lines are marked with: test (default) to measure with rag eval, dev to "
                             "refit the confidence on them (make calibrate GOLD=FILE)")
    export.set_defaults(run=_feedback_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from rag.embedding import ModelNotAvailable
    from rag.generations import IndexDamaged, IndexLocked, IndexNotFound
    from rag.index import IndexMismatch
    from rag.loaders import LoadError

    try:
        return args.run(args)
    except (IndexNotFound, IndexDamaged, IndexLocked, IndexMismatch, ModelNotAvailable, LoadError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
