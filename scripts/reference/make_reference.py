#!/usr/bin/env python3
"""Reference embeddings for sentence-transformers/all-MiniLM-L6-v2.

Usage: python make_reference.py MODEL_DIR OUTPUT_JSON

Pipeline (what sentence-transformers does for this model, modules.json):
  BertTokenizer (lowercase + strip accents, [CLS] ... [SEP], truncate to
  max_seq_length=256 incl. specials) -> BertModel last_hidden_state ->
  mean pooling over attention mask -> L2 normalize.
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

QUERIES = [
    "parse a configuration file",
    "open a TCP connection with timeout",
    "read all lines from a text file",
    "serialize struct to json",
    "retry http request with exponential backoff",
    "compute sha256 hash of a file",
    "sort a list of users by age",
    "hash map with default value",
    "spawn a background thread pool",
    "convert string to integer safely",
    "walk directory tree recursively",
    "validate email address with regex",
    "connect to postgres database",
    "handle SIGINT gracefully",
    "where is the embedding cache invalidated",
    "how do we tokenize text into word pieces",
    "rate limiter token bucket",
    "parse command line arguments",
    "binary search in sorted array",
    "log an error and exit",
]

SYMBOLS = [
    "function parse config file. fn parse_config_file(path: &Path) -> Result<Config>. Reads and parses the TOML configuration.",
    "method connect with timeout. fn connect_timeout(&self, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream>. Opens a TCP connection, failing if it takes longer than the timeout.",
    "struct http client. pub struct HttpClient { inner: reqwest::Client, base_url: Url, retries: u32 }. A thin wrapper around reqwest with retry support.",
    "trait storage backend. pub trait StorageBackend: Send + Sync. Abstraction over local disk and object stores for reading and writing blobs.",
    "enum log level. pub enum LogLevel { Trace, Debug, Info, Warn, Error }. Severity of a log record.",
    "constant default batch size. pub const DEFAULT_BATCH_SIZE: usize = 64. Number of texts embedded per forward pass.",
    "function read lines. def read_lines(path: str) -> list[str]. Return all lines of a text file without trailing newlines.",
    "class user repository. class UserRepository(BaseRepository). Persists and queries User rows in the SQL database.",
    "method get by email. def get_by_email(self, email: str) -> Optional[User]. Look up a user by email address, case-insensitively.",
    "constant max retries. MAX_RETRIES = 5. Maximum number of attempts for transient network failures.",
    "function new server. func NewServer(addr string, handler http.Handler) *Server. Creates an HTTP server listening on addr.",
    "method serve http. func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request). Dispatches the request to the registered route.",
    "struct worker pool. type WorkerPool struct { jobs chan Job; wg sync.WaitGroup }. Runs jobs concurrently on a fixed number of goroutines.",
    "function debounce. export function debounce<T extends (...args: any[]) => void>(fn: T, waitMs: number): T. Delays invoking fn until waitMs have elapsed since the last call.",
    "class event emitter. export class EventEmitter<Events extends Record<string, unknown>>. Typed publish/subscribe for UI components.",
    "interface request options. export interface RequestOptions { method?: string; headers?: Record<string, string>; signal?: AbortSignal }. Options accepted by fetchJson.",
    "enum http status. export enum HttpStatus { Ok = 200, NotFound = 404, InternalError = 500 }. Common HTTP status codes.",
    "class order service. public class OrderService implements Service<Order>. Validates, prices and persists customer orders.",
    "method compute total. public BigDecimal computeTotal(List<LineItem> items, TaxPolicy policy). Sums line items and applies the tax policy.",
    "enum payment state. public enum PaymentState { PENDING, AUTHORIZED, CAPTURED, REFUNDED }. Lifecycle of a payment.",
    "constant connection timeout millis. public static final int CONNECTION_TIMEOUT_MILLIS = 30000. Default socket timeout.",
    "method l2 normalize. fn l2_normalize(v: &mut [f32]). Scales the vector in place to unit Euclidean length; leaves zero vectors unchanged.",
    "function mean pool. fn mean_pool(hidden: &Array2<f32>, mask: &[u32]) -> Vec<f32>. Averages token embeddings where the attention mask is one.",
    "struct tokenizer. pub struct WordPieceTokenizer { vocab: HashMap<String, u32>, unk_id: u32, max_chars_per_word: usize }. Greedy longest-match-first subword tokenizer.",
    "function walk dir. def walk(root: Path, *, follow_symlinks: bool = False) -> Iterator[Path]. Yield every file below root, skipping hidden directories.",
]

UNICODE = [
    "function café naïve résumé. fn normalise_accents(s: &str) -> String. Supprime les accents: «Ångström», «crème brûlée», «Zürich».",
    "🚀 launch the rocket 🔥 fn launch() -> Result<(), LaunchError> ✅ done",
    "函数 解析 配置 文件. fn 解析配置(路径: &str) -> 配置. 读取并解析 TOML 配置文件。",
    "関数 設定を読み込む. def load_settings(パス): 設定ファイルを読み込みます。한국어 설명도 포함.",
    "Ελληνικά και русский текст: функция открыть_соединение(хост, порт) opens a connection.",
]

TINY = ["x", ""]


def long_text(seed_name, kind, sig, n_sentences):
    base = [
        "It validates every argument before touching shared state and returns a descriptive error when validation fails.",
        "The implementation keeps an internal buffer that is flushed whenever the configured threshold is exceeded.",
        "Callers must hold the write lock; otherwise concurrent updates may interleave and corrupt the index.",
        "Retries are performed with exponential backoff and jitter, up to the configured maximum number of attempts.",
        "Metrics for latency, throughput and error counts are recorded through the global telemetry registry.",
        "Deprecated options are still accepted for backward compatibility but emit a warning at startup.",
        "See the module documentation for examples covering synchronous and asynchronous usage patterns.",
        "Unicode input is normalized to NFC before hashing so that visually identical keys collide as expected.",
    ]
    body = " ".join(base[i % len(base)] for i in range(n_sentences))
    return f"{kind} {seed_name}. {sig}. {body}"


LONG = [
    long_text("sync index", "method",
              "pub fn sync_index(&mut self, changes: Vec<FileChange>, opts: &SyncOptions) -> Result<SyncReport, IndexError>", 14),
    long_text("batch processor", "class",
              "public final class BatchProcessor<T extends Record> implements AutoCloseable, Flushable", 20),
    long_text("embed documents", "function",
              "async def embed_documents(docs: Sequence[Document], *, batch_size: int = 64, normalize: bool = True) -> np.ndarray", 30),
]

TEXTS = QUERIES + SYMBOLS + UNICODE + LONG + TINY
# pad with a few more queries to reach exactly 60
EXTRA = [
    "find the function that deletes stale cache entries",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "deserialize yaml into a typed struct",
    "method close. def close(self) -> None. Release the underlying socket; safe to call twice.",
]
TEXTS = TEXTS + EXTRA
assert len(TEXTS) == 60, len(TEXTS)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    model_dir, out_path = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    model = SentenceTransformer(model_dir, device="cpu")
    model.eval()
    max_len = model.max_seq_length
    tok = model.tokenizer

    with torch.inference_mode():
        vecs = model.encode(TEXTS, batch_size=16, convert_to_numpy=True,
                            normalize_embeddings=False, show_progress_bar=False)

    # also compute each text alone (batch of 1) to check padding invariance
    with torch.inference_mode():
        single = [model.encode([t], convert_to_numpy=True, show_progress_bar=False)[0] for t in TEXTS]
    import numpy as np
    single = np.stack(single)
    max_diff = float(np.abs(single - vecs).max())

    token_ids, untrunc = [], []
    for t in TEXTS:
        enc = tok(t, truncation=True, max_length=max_len)
        token_ids.append(list(map(int, enc["input_ids"])))
        untrunc.append(len(tok(t, truncation=False)["input_ids"]))

    out = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "max_seq_length": max_len,
        "pooling": "mean over attention mask, then L2 normalize",
        "dim": int(vecs.shape[1]),
        "max_abs_diff_batched_vs_single": max_diff,
        "texts": TEXTS,
        "num_tokens_untruncated": untrunc,
        "token_ids": token_ids,
        "vectors": [[round(float(x), 6) for x in v] for v in vecs],
    }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)
    norms = np.linalg.norm(vecs, axis=1)
    print(f"wrote {out_path}: {len(TEXTS)} texts, dim {vecs.shape[1]}, max_seq_length {max_len}")
    print(f"norms min/max {norms.min():.6f}/{norms.max():.6f}; batched-vs-single max |diff| {max_diff:.2e}")
    print("untruncated token counts:", untrunc)
    i, j = TEXTS.index("A man is eating food."), TEXTS.index("A man is eating a piece of bread.")
    print(f"cos('A man is eating food.', 'A man is eating a piece of bread.') = {float(vecs[i] @ vecs[j]):.4f}")


if __name__ == "__main__":
    main()
