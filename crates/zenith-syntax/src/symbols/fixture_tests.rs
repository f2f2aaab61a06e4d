//! Fixture tests: realistic source text → expected symbols, as inline snapshots
//! (`UPDATE_EXPECT=1 cargo test --release --lib` rewrites them; review the diff).

use std::path::Path;

use expect_test::{Expect, expect};

use crate::parse::{ParseLimits, parse};
use crate::symbols::extract_symbols;

/// Renders the symbols of `source` (as file `path`) one per line:
/// `kind qualified_name [visibility] start-end | signature | doc`.
fn render(path: &str, source: &str) -> String {
    let parsed = parse(Path::new(path), source.as_bytes(), &ParseLimits::default()).expect("parses");
    let extraction = extract_symbols(path, &parsed, "hash", 0);
    let mut out = String::new();
    if extraction.partial {
        out.push_str("(partial)\n");
    }
    for symbol in extraction.symbols {
        let doc = symbol.doc.as_deref().map(|d| d.replace('\n', "⏎")).unwrap_or_default();
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
        expect![[r#"
            struct server::Server [public] 8:0-12:1 | pub struct Server<T: Send> | A TCP server.⏎⏎Serves many clients.
            field server::Server::addr [public] 10:4-10:20 | pub addr: String | Bound address.
            field server::Server::inner [private] 11:4-11:12 | inner: T | 
            enum server::State [internal] 14:0-14:54 | pub(crate) enum State | 
            enum_member server::State::Idle [internal] 14:24-14:28 | Idle | 
            enum_member server::State::Running [internal] 14:30-14:52 | Running | 
            field server::State::Running::since [internal] 14:40-14:50 | since: u64 | 
            trait server::Start [public] 17:0-20:1 | pub trait Start | Things that can be started.
            method server::Start::start [public] 19:4-19:45 | fn start(&mut self) -> Result<(), Error> | Starts it.
            method server::Server::new [public] 24:4-26:5 | pub fn new(addr: &str, inner: T) -> Self | Creates a server bound to `addr`.
            method server::Server::helper [private] 28:4-28:23 | fn helper(&self) | 
            method server::Server::start [public] 32:4-32:55 | fn start(&mut self) -> Result<(), Error> | 
            module server::inner [private] 35:0-41:1 | mod inner | 
            constant server::inner::LIMIT [public] 36:4-36:32 | pub const LIMIT: usize = 10 | 
            static server::inner::COUNTER [private] 37:4-37:28 | static COUNTER: u32 = 0 | 
            type_alias server::inner::Map [public] 38:4-38:56 | pub type Map<K> = std::collections::HashMap<K, u32> | 
            macro server::inner::shout [public] 40:4-40:35 | macro_rules! shout { () => {} } | 
            function server::naïve_ünïcode [public] 43:0-43:25 | pub fn naïve_ünïcode() | 
        "#]],
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
        expect![[r#"
            constant pkg.util.config.MAX_SIZE [public] 5:0-5:15 | MAX_SIZE = 1024 | 
            function pkg.util.config.load_config [public] 10:0-15:13 | def load_config(path: str, *, strict: bool = False) -> dict | Load a configuration file.⏎⏎Returns a dict.
            class pkg.util.config.Loader [public] 18:0-39:27 | class Loader(Base) | Loads things.
            constructor pkg.util.config.Loader.__init__ [public] 21:4-22:24 | def __init__(self, root) | 
            method pkg.util.config.Loader.root_dir [public] 25:4-27:24 | def root_dir(self) | The root.
            method pkg.util.config.Loader._private [private] 29:4-30:12 | def _private(self) | 
            method pkg.util.config.Loader.fetch [public] 32:4-35:20 | async def fetch(self, url) | 
            class pkg.util.config.Loader.Nested [public] 37:4-39:27 | class Nested | 
            method pkg.util.config.Loader.Nested.__repr__ [public] 38:8-39:27 | def __repr__(self) | 
        "#]],
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
        expect![[r#"
            function fetchUser [public] 6:7-8:1 | async function fetchUser(id) | Fetches a user.⏎@param {string} id
            function helper [internal] 10:6-10:27 | const helper = (x) => | 
            constant API_ROOT [public] 11:13-11:30 | const API_ROOT = "/api" | 
            class Client [public] 13:15-25:1 | class Client | 
            field Client.#token [private] 14:2-14:15 | #token = null | 
            field Client.retries [public] 15:2-15:13 | retries = 3 | 
            constructor Client.constructor [public] 17:2-17:45 | constructor(token) | 
            method Client.send [public] 20:2-20:35 | send(request) | Sends a request.
            method Client.#sign [private] 22:2-22:12 | #sign() | 
            method Client.create [public] 24:2-24:42 | static create() | 
            function App [internal] 27:0-29:1 | function App() | 
        "#]],
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
        expect![[r#"
            interface User [public] 3:7-8:1 | interface User<T = string> | A user record.
            property User.id [public] 4:2-4:7 | id: T | 
            property User.name [public] 6:2-6:14 | name: string | Display name.
            method User.greet [public] 7:2-7:28 | greet(other: User): string | 
            type_alias Id [public] 10:7-10:33 | type Id = string | number | 
            enum Color [public] 12:7-12:42 | enum Color | 
            enum_member Color.Red [public] 12:20-12:23 | Red | 
            enum_member Color.Green [public] 12:25-12:40 | Green = "green" | 
            namespace Geometry [public] 14:7-18:1 | namespace Geometry | 
            function Geometry.area [public] 15:9-15:42 | function area(r: number): number | 
            function Geometry.area [public] 16:9-16:53 | function area(w: number, h: number): number | 
            function Geometry.area [public] 17:9-17:83 | function area(a: number, b?: number): number | 
            class Repo [public] 20:7-24:1 | abstract class Repo<T> implements Store | 
            field Repo.cache [private] 21:2-21:43 | private cache: Map<string, T> = new Map() | 
            method Repo.load [protected] 22:2-22:49 | protected abstract load(id: string): Promise<T> | 
            method Repo.get [public] 23:2-23:85 | public async get(id: string): Promise<T | undefined> | 
        "#]],
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
        expect![[r#"
            type_alias Props [internal] 2:0-2:31 | type Props = { label: string } | 
            property Props.label [public] 2:15-2:28 | label: string | 
            function Button [public] 5:13-5:68 | const Button = ({ label }: Props) => | A button.
            function Panel [public] 7:7-7:56 | function Panel(): JSX.Element | 
        "#]],
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
        expect![[r#"
            constant store.MaxItems [public] 5:6-5:20 | MaxItems = 100 | MaxItems bounds the store.
            variable store.defaultStore [internal] 7:4-7:23 | defaultStore *Store | 
            struct store.Store [public] 10:5-14:1 | Store struct | Store keeps items.
            field store.Store.Items [public] 12:1-12:15 | Items []string | Items are the stored values.
            field store.Store.mu [internal] 13:1-13:17 | mu sync.Mutex | 
            interface store.Reader [public] 17:5-19:1 | Reader interface | Reader reads.
            method store.Reader.Read [public] 18:1-18:28 | Read(p []byte) (int, error) | 
            type_alias store.ID [public] 21:5-21:16 | ID = string | 
            function store.New [public] 24:0-24:37 | func New() *Store | New creates a Store.
            method store.Store.Add [public] 27:0-29:1 | func (s *Store) Add(item string) error | Add appends an item.
            method store.Store.len [internal] 31:0-31:40 | func (s Store[T]) len() int | 
        "#]],
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
        expect![[r#"
            class com.acme.Cache [public] 7:0-31:1 | public class Cache<K, V> | A simple cache.
            constant com.acme.Cache.MAX [public] 9:4-9:37 | public static final int MAX = 10 | Maximum size.
            field com.acme.Cache.map [private] 10:4-10:50 | private final Map<K, V> map = new HashMap<>() | 
            field com.acme.Cache.count [internal] 11:4-11:21 | int count, total | 
            field com.acme.Cache.total [internal] 11:4-11:21 | int count, total | 
            constructor com.acme.Cache.Cache [public] 14:4-14:21 | public Cache() | Creates an empty cache.
            method com.acme.Cache.toString [public] 16:4-17:48 | @Override public String toString() | 
            method com.acme.Cache.get [public] 19:4-19:48 | public V get(K key) | 
            method com.acme.Cache.get [public] 20:4-20:79 | public V get(K key, V fallback) | 
            method com.acme.Cache.evict [protected] 22:4-22:29 | protected void evict() | 
            enum com.acme.Cache.Policy [internal] 24:4-24:28 | enum Policy | 
            enum_member com.acme.Cache.Policy.LRU [public] 24:18-24:21 | LRU | 
            enum_member com.acme.Cache.Policy.LFU [public] 24:23-24:26 | LFU | 
            interface com.acme.Cache.Listener [internal] 26:4-28:5 | interface Listener | 
            method com.acme.Cache.Listener.onEvict [public] 27:8-27:28 | void onEvict(K key) | 
            class com.acme.Cache.Entry [internal] 30:4-30:35 | record Entry(K key, V value) | 
        "#]],
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
        expect![[r#"
            macro BUF_SIZE [public] 2:0-3:0 | #define BUF_SIZE 4096 | 
            macro MIN [public] 3:0-4:0 | #define MIN(a, b) ((a) < (b) ? (a) : (b)) | 
            type_alias buffer_t [public] 6:0-9:11 | typedef struct buffer { char *data; size_t len; } buffer_t | A growable buffer.
            struct buffer [public] 6:8-9:1 | struct buffer | 
            field buffer.data [public] 7:4-7:15 | char *data | 
            field buffer.len [public] 8:4-8:15 | size_t len | 
            enum mode [public] 11:0-11:35 | enum mode | 
            enum_member mode.MODE_READ [public] 11:12-11:21 | MODE_READ | 
            enum_member mode.MODE_WRITE [public] 11:23-11:33 | MODE_WRITE | 
            function buf_append [public] 14:0-14:59 | int buf_append(buffer_t *buf, const char *bytes, size_t n) | Appends bytes.
            function grow [private] 16:0-16:34 | static void grow(buffer_t *buf) | 
            function buf_take [public] 18:0-18:51 | char *buf_take(buffer_t *buf) | 
        "#]],
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
        expect![[r#"
            namespace engine [public] 2:0-24:1 | namespace engine | 
            class engine::Renderer [public] 5:0-15:1 | class Renderer : public Base | The renderer.
            constructor engine::Renderer::Renderer [public] 7:4-7:24 | Renderer(int width) | 
            method engine::Renderer::~Renderer [public] 8:4-8:16 | ~Renderer() | 
            method engine::Renderer::draw [public] 10:4-10:22 | void draw() const | Draws a frame.
            field engine::Renderer::width [public] 11:4-11:14 | int width | 
            method engine::Renderer::reset [private] 13:4-13:17 | void reset() | 
            field engine::Renderer::height_ [private] 14:4-14:16 | int height_ | 
            struct engine::Point [public] 17:0-17:29 | struct Point | 
            field engine::Point::x [public] 17:15-17:27 | double x, y | 
            field engine::Point::y [public] 17:15-17:27 | double x, y | 
            function engine::clamp [public] 20:0-20:66 | T clamp(T v, T lo, T hi) | 
            type_alias engine::Size [public] 22:0-22:27 | using Size = unsigned long | 
            method engine::Renderer::draw [public] 26:0-26:38 | void engine::Renderer::draw() const | 
            function hidden [private] 29:0-29:26 | int hidden() | 
        "#]],
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
        expect![[r#"
            namespace Acme.Services [public] 2:0-30:1 | namespace Acme.Services | 
            class Acme.Services.Mailer [public] 5:4-21:5 | public class Mailer : IMailer | Sends mail via SmtpClient.
            field Acme.Services.Mailer.host [private] 7:8-7:37 | private readonly string host | 
            property Acme.Services.Mailer.Port [public] 10:8-10:37 | public int Port | The port.
            constructor Acme.Services.Mailer.Mailer [public] 12:8-12:56 | public Mailer(string host) | 
            method Acme.Services.Mailer.SendAsync [public] 16:8-16:50 | public async Task SendAsync(string to) | Sends a message.⏎Recipient.
            method Acme.Services.Mailer.Reset [internal] 18:8-18:33 | internal void Reset() | 
            method Acme.Services.Mailer.Log [private] 20:8-20:22 | void Log() | 
            interface Acme.Services.IMailer [public] 23:4-23:59 | public interface IMailer | 
            method Acme.Services.IMailer.SendAsync [public] 23:31-23:57 | Task SendAsync(string to) | 
            enum Acme.Services.Priority [public] 25:4-25:38 | public enum Priority | 
            enum_member Acme.Services.Priority.Low [public] 25:27-25:30 | Low | 
            enum_member Acme.Services.Priority.High [public] 25:32-25:36 | High | 
            class Acme.Services.Message [public] 27:4-27:50 | public record Message(string To, string Body) | 
            struct Acme.Services.Header [internal] 29:4-29:41 | struct Header | 
            field Acme.Services.Header.Name [public] 29:20-29:39 | public string Name | 
        "#]],
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
        expect![[r#"
            module Acme [public] 2:0-32:3 | module Acme | 
            constant Acme::VERSION [public] 3:2-3:17 | VERSION = "1.0" | 
            class Acme::Client [public] 7:2-31:5 | class Client < Base | An HTTP client.⏎Retries on failure.
            property Acme::Client::host [public] 8:4-8:28 | attr_reader :host, :port | 
            property Acme::Client::port [public] 8:4-8:28 | attr_reader :host, :port | 
            constructor Acme::Client::initialize [private] 10:4-12:7 | def initialize(host) | 
            method Acme::Client::get [public] 15:4-17:7 | def get(path) | Performs a GET.
            method Acme::Client::default [public] 19:4-21:7 | def self.default | 
            method Acme::Client::ready? [public] 23:4-25:7 | def ready? | 
            method Acme::Client::request [private] 29:4-30:7 | def request(verb, path) | 
            function top_level_helper [public] 34:0-34:25 | def top_level_helper | 
        "#]],
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
        expect![[r#"
            class App\Models\User [public] 7:0-21:1 | class User extends Model implements JsonSerializable | A user.
            constant App\Models\User::TABLE [public] 9:4-9:26 | const TABLE = 'users' | 
            property App\Models\User::name [private] 10:4-10:25 | private string $name | 
            property App\Models\User::age [public] 11:4-11:28 | public ?int $age = null | 
            constructor App\Models\User::__construct [public] 13:4-13:70 | public function __construct(string $name) | 
            method App\Models\User::jsonSerialize [public] 16:4-16:57 | public function jsonSerialize(): mixed | Serializes the user.
            method App\Models\User::boot [protected] 18:4-18:39 | protected static function boot() | 
            method App\Models\User::legacy [public] 20:4-20:24 | function legacy() | 
            interface App\Models\HasName [public] 23:0-23:53 | interface HasName | 
            method App\Models\HasName::name [public] 23:20-23:51 | public function name(): string | 
            trait App\Models\Greets [public] 25:0-25:43 | trait Greets | 
            method App\Models\Greets::greet [public] 25:15-25:41 | public function greet() | 
            enum App\Models\Status [public] 27:0-27:61 | enum Status: string | 
            enum_member App\Models\Status::Active [public] 27:22-27:40 | case Active = 'a' | 
            enum_member App\Models\Status::Banned [public] 27:41-27:59 | case Banned = 'b' | 
            function App\Models\helper [public] 29:0-29:43 | function helper(int $x): int | 
        "#]],
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
        expect![[r#"
            (partial)
            function broken::before [public] 2:0-2:28 | pub fn before() -> u32 | 
            struct broken::After [public] 7:0-7:35 | pub struct After | 
            field broken::After::field [public] 7:19-7:33 | pub field: u32 | 
            function broken::after [public] 9:0-9:17 | pub fn after() | 
        "#]],
    );
    check(
        "broken.py",
        "def ok():\n    pass\n\ndef broken(:\n    pass\n\nclass Fine:\n    def method(self):\n        pass\n",
        expect![[r#"
            (partial)
            function broken.ok [public] 1:0-2:8 | def ok() | 
            function broken.broken [public] 4:0-5:8 | def broken( | 
            class broken.Fine [public] 7:0-9:12 | class Fine | 
            method broken.Fine.method [public] 8:4-9:12 | def method(self) | 
        "#]],
    );
}

#[test]
fn overloads_get_distinct_stable_ids() {
    let source = "class A {\n  void f(int x) {}\n  void f(String s) {}\n}\n";
    let parsed = parse(Path::new("A.java"), source.as_bytes(), &ParseLimits::default()).unwrap();
    let symbols = extract_symbols("A.java", &parsed, "h", 0).symbols;
    let ids: Vec<&str> = symbols.iter().filter(|s| s.name == "f").map(|s| s.id.as_str()).collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    let again = extract_symbols("A.java", &parsed, "h", 0).symbols;
    assert_eq!(symbols, again, "extraction is deterministic");
}

#[test]
fn utf16_columns_count_code_units_after_emoji() {
    let source = "/* 😀😀 */ fn after_emoji() {}\n";
    let parsed = parse(Path::new("e.rs"), source.as_bytes(), &ParseLimits::default()).unwrap();
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
