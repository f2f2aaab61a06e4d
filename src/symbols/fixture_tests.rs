//! Fixture tests: realistic source text → expected symbols, as inline snapshots
//! (`UPDATE_EXPECT=1 cargo test --release --lib` rewrites them; review the diff).

use std::path::Path;

use expect_test::{Expect, expect};

use crate::parse::{ParseLimits, parse};
use crate::symbols::extract_symbols;

/// Renders the symbols of `source` (as file `path`) one per line:
/// `kind qualified_name [visibility] start-end | signature | doc`.
fn render(path: &str, source: &str) -> String {
    let parsed =
        parse(Path::new(path), source.as_bytes(), &ParseLimits::default()).expect("parses");
    let extraction = extract_symbols(path, &parsed, "hash", 0);
    let mut out = String::new();
    if extraction.partial {
        out.push_str("(partial)\n");
    }
    for symbol in extraction.symbols {
        let doc = symbol
            .doc
            .as_deref()
            .map(|d| d.replace('\n', "⏎"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{} {} [{}] {}:{}-{}:{} | {} | {}\n",
            symbol.kind,
            symbol.qualified_name,
            symbol.visibility,
            symbol.start_line + 1,
            symbol.start_col_utf16,
            symbol.end_line + 1,
            symbol.end_col_utf16,
            symbol.signature,
            doc
        ));
    }
    out
}

fn check(path: &str, source: &str, expected: Expect) {
    expected.assert_eq(&render(path, source));
}

#[test]
fn rust_items_impls_traits_and_docs() {
    check(
        "crates/net/src/server/mod.rs",
        r#"
//! Module docs are not item docs.

/// A TCP server.
///
/// Serves many clients.
#[derive(Debug, Clone)]
pub struct Server<T: Send> {
    /// Bound address.
    pub addr: String,
    inner: T,
}

pub(crate) enum State { Idle, Running { since: u64 } }

/// Things that can be started.
pub trait Start {
    /// Starts it.
    fn start(&mut self) -> Result<(), Error>;
}

impl<T: Send> Server<T> {
    /// Creates a server bound to `addr`.
    pub fn new(addr: &str, inner: T) -> Self {
        Server { addr: addr.into(), inner }
    }

    fn helper(&self) {}
}

impl<T: Send> Start for Server<T> {
    fn start(&mut self) -> Result<(), Error> { Ok(()) }
}

mod inner {
    pub const LIMIT: usize = 10;
    static COUNTER: u32 = 0;
    pub type Map<K> = std::collections::HashMap<K, u32>;
    #[macro_export]
    macro_rules! shout { () => {} }
}

pub fn naïve_ünïcode() {}
"#,
        expect![[r#""#]],
    );
}

#[test]
fn python_classes_decorators_docstrings_and_visibility() {
    check(
        "src/pkg/util/config.py",
        r#"
"""Module docstring."""
import os

MAX_SIZE = 1024
default_name = "x"

# A comment block
# describing the function.
def load_config(path: str, *, strict: bool = False) -> dict:
    """Load a configuration file.

    Returns a dict.
    """
    return {}


class Loader(Base):
    '''Loads things.'''

    def __init__(self, root):
        self.root = root

    @property
    def root_dir(self):
        """The root."""
        return self.root

    def _private(self):
        pass

    async def fetch(self, url):
        def inner():
            pass
        return inner

    class Nested:
        def __repr__(self):
            return "Nested"
"#,
        expect![[r#""#]],
    );
}

#[test]
fn javascript_exports_classes_arrow_functions_and_jsdoc() {
    check(
        "web/src/api.jsx",
        r#"
/**
 * Fetches a user.
 * @param {string} id
 */
export async function fetchUser(id) {
  return fetch(`/users/${id}`);
}

const helper = (x) => x * 2;
export const API_ROOT = "/api";

export default class Client {
  #token = null;
  retries = 3;

  constructor(token) { this.#token = token; }

  /** Sends a request. */
  send(request) { return request; }

  #sign() {}

  static create() { return new Client(); }
}

function App() {
  return <div className="app">{helper(2)}</div>;
}
"#,
        expect![[r#""#]],
    );
}

#[test]
fn typescript_interfaces_enums_namespaces_and_overloads() {
    check(
        "src/model.ts",
        r#"
/** A user record. */
export interface User<T = string> {
  id: T;
  /** Display name. */
  name: string;
  greet(other: User): string;
}

export type Id = string | number;

export enum Color { Red, Green = "green" }

export namespace Geometry {
  export function area(r: number): number;
  export function area(w: number, h: number): number;
  export function area(a: number, b?: number): number { return b ? a * b : a * a; }
}

export abstract class Repo<T> implements Store {
  private cache: Map<string, T> = new Map();
  protected abstract load(id: string): Promise<T>;
  public async get(id: string): Promise<T | undefined> { return this.cache.get(id); }
}
"#,
        expect![[r#""#]],
    );
}

#[test]
fn tsx_components() {
    check(
        "ui/Button.tsx",
        r#"
type Props = { label: string };

/** A button. */
export const Button = ({ label }: Props) => <button>{label}</button>;

export function Panel(): JSX.Element { return <div />; }
"#,
        expect![[r#""#]],
    );
}

#[test]
fn go_packages_receivers_and_exported_names() {
    check(
        "pkg/store/store.go",
        r#"
package store

// MaxItems bounds the store.
const MaxItems = 100

var defaultStore *Store

// Store keeps items.
type Store struct {
	// Items are the stored values.
	Items []string
	mu    sync.Mutex
}

// Reader reads.
type Reader interface {
	Read(p []byte) (int, error)
}

type ID = string

// New creates a Store.
func New() *Store { return &Store{} }

// Add appends an item.
func (s *Store) Add(item string) error {
	return nil
}

func (s Store[T]) len() int { return 0 }
"#,
        expect![[r#""#]],
    );
}

#[test]
fn java_classes_overloads_annotations_and_modifiers() {
    check(
        "src/main/java/com/acme/Cache.java",
        r#"
package com.acme;

/**
 * A simple cache.
 */
public class Cache<K, V> {
    /** Maximum size. */
    public static final int MAX = 10;
    private final Map<K, V> map = new HashMap<>();
    int count, total;

    /** Creates an empty cache. */
    public Cache() {}

    @Override
    public String toString() { return "Cache"; }

    public V get(K key) { return map.get(key); }
    public V get(K key, V fallback) { return map.getOrDefault(key, fallback); }

    protected void evict() {}

    enum Policy { LRU, LFU }

    interface Listener {
        void onEvict(K key);
    }

    record Entry(K key, V value) {}
}
"#,
        expect![[r#""#]],
    );
}

#[test]
fn c_functions_prototypes_structs_macros() {
    check(
        "include/buf.c",
        r#"
#define BUF_SIZE 4096
#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* A growable buffer. */
typedef struct buffer {
    char *data;
    size_t len;
} buffer_t;

enum mode { MODE_READ, MODE_WRITE };

/** Appends bytes. */
int buf_append(buffer_t *buf, const char *bytes, size_t n);

static void grow(buffer_t *buf) {}

char *buf_take(buffer_t *buf) { return buf->data; }
"#,
        expect![[r#""#]],
    );
}

#[test]
fn cpp_namespaces_classes_access_and_out_of_line_methods() {
    check(
        "src/engine.cpp",
        r#"
namespace engine {

/// The renderer.
class Renderer : public Base {
public:
    Renderer(int width);
    ~Renderer();
    /// Draws a frame.
    void draw() const;
    int width;
private:
    void reset();
    int height_;
};

struct Point { double x, y; };

template <typename T>
T clamp(T v, T lo, T hi) { return v < lo ? lo : v > hi ? hi : v; }

using Size = unsigned long;

}  // namespace engine

void engine::Renderer::draw() const {}

namespace {
int hidden() { return 0; }
}
"#,
        expect![[r#""#]],
    );
}

#[test]
fn csharp_namespaces_properties_and_xml_docs() {
    check(
        "src/Services/Mailer.cs",
        r#"
namespace Acme.Services
{
    /// <summary>Sends mail via <see cref="SmtpClient"/>.</summary>
    public class Mailer : IMailer
    {
        private readonly string host;

        /// <summary>The port.</summary>
        public int Port { get; set; }

        public Mailer(string host) { this.host = host; }

        /// <summary>Sends a message.</summary>
        /// <param name="to">Recipient.</param>
        public async Task SendAsync(string to) { }

        internal void Reset() { }

        void Log() { }
    }

    public interface IMailer { Task SendAsync(string to); }

    public enum Priority { Low, High }

    public record Message(string To, string Body);

    struct Header { public string Name; }
}
"#,
        expect![[r#""#]],
    );
}

#[test]
fn ruby_modules_classes_visibility_and_comments() {
    check(
        "lib/acme/client.rb",
        r#"
module Acme
  VERSION = "1.0"

  # An HTTP client.
  # Retries on failure.
  class Client < Base
    attr_reader :host, :port

    def initialize(host)
      @host = host
    end

    # Performs a GET.
    def get(path)
      request(:get, path)
    end

    def self.default
      new("localhost")
    end

    def ready?
      true
    end

    private

    def request(verb, path)
    end
  end
end

def top_level_helper; end
"#,
        expect![[r#""#]],
    );
}

#[test]
fn php_namespaces_classes_and_visibility() {
    check(
        "src/Models/User.php",
        r#"<?php
namespace App\Models;

/**
 * A user.
 */
class User extends Model implements JsonSerializable
{
    const TABLE = 'users';
    private string $name;
    public ?int $age = null;

    public function __construct(string $name) { $this->name = $name; }

    /** Serializes the user. */
    public function jsonSerialize(): mixed { return []; }

    protected static function boot() {}

    function legacy() {}
}

interface HasName { public function name(): string; }

trait Greets { public function greet() {} }

enum Status: string { case Active = 'a'; case Banned = 'b'; }

function helper(int $x): int { return $x; }
"#,
        expect![[r#""#]],
    );
}

#[test]
fn broken_code_keeps_the_symbols_of_its_intact_parts() {
    check(
        "src/broken.rs",
        r#"
pub fn before() -> u32 { 1 }

pub fn broken(x: u32 -> {
    let y = ;

pub struct After { pub field: u32 }

pub fn after() {}
"#,
        expect![[r#""#]],
    );
    check(
        "broken.py",
        "def ok():\n    pass\n\ndef broken(:\n    pass\n\nclass Fine:\n    def method(self):\n        pass\n",
        expect![[r#""#]],
    );
}

#[test]
fn overloads_get_distinct_stable_ids() {
    let source = "class A {\n  void f(int x) {}\n  void f(String s) {}\n}\n";
    let parsed = parse(
        Path::new("A.java"),
        source.as_bytes(),
        &ParseLimits::default(),
    )
    .unwrap();
    let symbols = extract_symbols("A.java", &parsed, "h", 0).symbols;
    let ids: Vec<&str> = symbols
        .iter()
        .filter(|s| s.name == "f")
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    let again = extract_symbols("A.java", &parsed, "h", 0).symbols;
    assert_eq!(symbols, again, "extraction is deterministic");
}

#[test]
fn utf16_columns_count_code_units_after_emoji() {
    let source = "/* 😀😀 */ fn after_emoji() {}\n";
    let parsed = parse(
        Path::new("e.rs"),
        source.as_bytes(),
        &ParseLimits::default(),
    )
    .unwrap();
    let symbol = &extract_symbols("e.rs", &parsed, "h", 0).symbols[0];
    // "/* " (3) + two emoji (4 bytes, 2 UTF-16 units each) + " */ " (4).
    assert_eq!(symbol.start_col, 3 + 8 + 4);
    assert_eq!(symbol.start_col_utf16, 3 + 4 + 4);
}

#[test]
fn every_language_query_compiles() {
    for language in crate::parse::Language::ALL {
        super::compiled_query(language);
    }
}
