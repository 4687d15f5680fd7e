#!/usr/bin/env bash
# Side by side with the peers, in one run: txtai, Haystack 2.x, bm25s and dense FAISS (the harness in
# ../shared/peers, same model, same data), then this project's retrieval with its ONNX int8 encoder and with
# PyTorch, one after another in their own processes; writes reports/bench/peers/table.md with the ratios.
#   PEERS_DIR       the harness (default: ../shared/peers); copied to a scratch directory, as it may be read-only
#   PEERS_VENV_DIR  the peers' environments, made by the harness's setup_venvs.sh when missing, outside the repo
#                   (default: $TMPDIR/peers); never this project's dependencies
#   PEERS_DATA_DIR  beir-scifact/ and squad-v1.1-dev/ (default: ../shared/data)
#   PEERS_SYSTEMS   which runs (default: all of them; e.g. "kizuna-onnx-int8 txtai-hybrid")
# Extra arguments go to every run (e.g. --datasets scifact --squad-questions 500).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS_DIR="$(cd "${PEERS_DIR:-$ROOT/../shared/peers}" && pwd)"
V="${PEERS_VENV_DIR:-${TMPDIR:-/tmp}/peers}"
DATA="$(cd "${PEERS_DATA_DIR:-$ROOT/../shared/data}" && pwd)"
OUT="$ROOT/reports/bench/peers"
SYSTEMS="${PEERS_SYSTEMS:-bm25s dense-faiss txtai-hybrid haystack-hybrid kizuna-onnx-int8 kizuna-torch}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/kizuna-peers.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cp -r "$PEERS_DIR"/*.py "$WORK/"
cp "$ROOT/bench/peers_kizuna.py" "$WORK/"
[ -x "$V/venv-haystack/bin/python" ] || PEERS_VENV_DIR="$V" bash "$PEERS_DIR/setup_venvs.sh" >&2
mkdir -p "$OUT"
run() {  # run NAME PYTHON SCRIPT ARGS...
  local name="$1" python="$2"; shift 2
  case " $SYSTEMS " in *" $name "*) ;; *) return 0 ;; esac
  echo "== $name" >&2
  (cd "$WORK" && "$python" "$@" --data-dir "$DATA" "${EXTRA[@]}" | tail -n 1 > "$OUT/$name.json")
}
EXTRA=("$@")
run bm25s           "$V/venv-base/bin/python"     run_bm25s.py
run dense-faiss     "$V/venv-base/bin/python"     run_dense_faiss.py
run txtai-hybrid    "$V/venv-txtai/bin/python"    run_txtai.py
run haystack-hybrid "$V/venv-haystack/bin/python" run_haystack.py
RAG_ENCODER_BACKEND=onnx-int8 run kizuna-onnx-int8 "$ROOT/.venv/bin/python" peers_kizuna.py
RAG_ENCODER_BACKEND=torch     run kizuna-torch     "$ROOT/.venv/bin/python" peers_kizuna.py
"$ROOT/.venv/bin/python" "$ROOT/bench/peers_table.py" "$OUT" > "$OUT/table.md"
cat "$OUT/table.md"
