"""Export a fine-tuned span model to ONNX, quantize it to int8 (per channel) and write what the service loads:
model.onnx, the tokenizer, reader.json (window settings) and the training run's record (training.json)."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def export(model_dir: Path, out: Path, args: argparse.Namespace) -> Path:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from rag.onnx_runtime import quantize_int8

    model = AutoModelForQuestionAnswering.from_pretrained(model_dir, local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    out.mkdir(parents=True, exist_ok=True)
    sample = tokenizer(["a question"], ["a context"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model-fp32.onnx"
        torch.onnx.export(
            model, tuple(sample[n] for n in names), str(fp32), input_names=names,
            output_names=["start_logits", "end_logits"], opset_version=17, dynamo=False,
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "start_logits", "end_logits"]},
        )
        quantize_int8(fp32, out / "model.onnx")
    tokenizer.save_pretrained(out)
    work = Path(args.work)
    run = json.loads((work / "run.json").read_text()) if (work / "run.json").exists() else {}
    curve = [json.loads(line) for line in (work / "curve.jsonl").read_text().splitlines() if line] \
        if (work / "curve.jsonl").exists() else []
    # The windows the model was trained on, as recorded by its run (a checkpoint exported later keeps them).
    windows = {k: run.get(k, getattr(args, k)) for k in ("max_length", "stride", "max_answer_tokens")}
    # The service may read longer windows than the model was trained on (chosen on the gold dev split).
    windows["trained_max_length"] = windows["max_length"]
    windows["max_length"] = getattr(args, "read_max_length", None) or windows["max_length"]
    (out / "reader.json").write_text(json.dumps({"name": "kizuna-reader-minilm-l6", **windows}, indent=2) + "\n")
    (out / "training.json").write_text(json.dumps({"run": run, "curve": curve}, indent=2) + "\n")
    return out
