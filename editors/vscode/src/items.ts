// What the pickers show for the server's answers. Pure: no `vscode` import.
//
// VS Code's own Ctrl+T re-scores `workspace/symbol` results with its fuzzy scorer; these items
// are shown in a QuickPick with filtering and sorting turned off, so the server's ranking
// (exact > prefix > initialism > substring, types first) is what the user sees.

/** The `SymbolKind` numbers of the LSP specification. */
export const SYMBOL_KIND_NAMES: Record<number, string> = {
  1: "file", 2: "module", 3: "namespace", 4: "package", 5: "class", 6: "method", 7: "property",
  8: "field", 9: "constructor", 10: "enum", 11: "interface", 12: "function", 13: "variable",
  14: "constant", 15: "string", 16: "number", 17: "boolean", 18: "array", 19: "object", 20: "key",
  21: "null", 22: "enum_member", 23: "struct", 24: "event", 25: "operator", 26: "type_parameter",
};

/** Zenith's kinds (and LSP kind names) -> VS Code's product icon names (`$(symbol-…)`). */
const ICONS: Record<string, string> = {
  module: "symbol-module", namespace: "symbol-namespace", package: "symbol-package",
  class: "symbol-class", struct: "symbol-struct", enum: "symbol-enum",
  enum_member: "symbol-enum-member", interface: "symbol-interface", trait: "symbol-interface",
  type_alias: "symbol-type-parameter", type_parameter: "symbol-type-parameter",
  function: "symbol-function", macro: "symbol-function", method: "symbol-method",
  constructor: "symbol-constructor", field: "symbol-field", property: "symbol-property",
  constant: "symbol-constant", static: "symbol-constant", variable: "symbol-variable",
};

export function iconFor(kind: string): string {
  return ICONS[kind] ?? "symbol-misc";
}

export interface Position {
  line: number;
  character: number;
}
export interface Range {
  start: Position;
  end: Position;
}
export interface Location {
  uri: string;
  range: Range;
}

/** A `WorkspaceSymbol` as `znt serve` sends it (always with a full location). */
export interface WorkspaceSymbol {
  name: string;
  kind: number;
  containerName?: string;
  location: Location | { uri: string };
}

/** One `zenith/search` result. */
export interface SearchResult {
  name: string;
  qualifiedName: string;
  kind: string;
  language: string;
  location: Location;
  signature: string;
  doc?: string | null;
  score: number;
  /** The team repository of a hit from the team remote (scope `team` / `all`). */
  repo?: string;
  /** The dependency of a hit from a package table (scope `deps` / `all`). */
  package?: { ecosystem: string; name: string; version: string };
}

/** A picker row: what VS Code's QuickPickItem needs, plus where to go. */
export interface PickItem {
  label: string;
  description: string;
  detail?: string;
  location: Location;
  /** Set for a team hit: the file is in a teammate's repository, not in this workspace. */
  repo?: string;
}

/** A workspace-relative path for display (the full path when the file is outside every root). */
export function displayPath(uri: string, roots: readonly string[]): string {
  const path = decodeURIComponent(uri.replace(/^file:\/\//, ""));
  let best = "";
  for (const root of roots) {
    const base = decodeURIComponent(root.replace(/^file:\/\//, "")).replace(/\/+$/, "");
    if ((path === base || path.startsWith(base + "/")) && base.length > best.length) {
      best = base;
    }
  }
  return best ? path.slice(best.length + 1) : path;
}

function firstLine(text: string | null | undefined): string | undefined {
  const line = text?.split("\n").find((l) => l.trim() !== "")?.trim();
  return line || undefined;
}

/** `workspace/symbol` -> rows, in the server's order. */
export function symbolItems(symbols: readonly WorkspaceSymbol[], roots: readonly string[]): PickItem[] {
  const items: PickItem[] = [];
  for (const symbol of symbols) {
    if (!("range" in symbol.location)) {
      continue; // Zenith always sends ranges; a location without one cannot be opened at the symbol.
    }
    const location = symbol.location;
    const kind = SYMBOL_KIND_NAMES[symbol.kind] ?? "symbol";
    items.push({
      label: `$(${iconFor(kind)}) ${symbol.name}`,
      description: symbol.containerName ?? "",
      detail: `${displayPath(location.uri, roots)}:${location.range.start.line + 1}`,
      location,
    });
  }
  return items;
}

/** `zenith/search` -> rows, in the server's order, with signature and the doc's first line. */
export function searchItems(results: readonly SearchResult[], roots: readonly string[]): PickItem[] {
  return results.map((result) => {
    const line = result.location.range.start.line + 1;
    // A team hit's location is `zenith-team:///<repo>/<path>`: show the repository and the path.
    // A dependency's is its file in the package's sources: show the package and version.
    const where = result.repo
      ? `[${result.repo}] ${teamPath(result.location.uri, result.repo)}:${line}`
      : result.package
        ? `[${result.package.name} ${result.package.version}] ${displayPath(result.location.uri, roots)}:${line}`
        : `${displayPath(result.location.uri, roots)}:${line}`;
    const doc = firstLine(result.doc);
    const item: PickItem = {
      label: `$(${iconFor(result.kind)}) ${result.qualifiedName}`,
      description: where,
      detail: doc ? `${result.signature}  —  ${doc}` : result.signature,
      location: result.location,
    };
    if (result.repo) item.repo = result.repo;
    return item;
  });
}

/** The repository-relative path of a `zenith-team:///<repo>/<path>` location. */
export function teamPath(uri: string, repo: string): string {
  const path = decodeURIComponent(uri.replace(/^zenith-team:\/\/\//, ""));
  return path.startsWith(repo + "/") ? path.slice(repo.length + 1) : path;
}

/** Search filters the picker's buttons toggle; `undefined` means "any". */
export interface SearchFilters {
  mode: "hybrid" | "semantic" | "fulltext";
  /** Which indexes: this workspace's (the default), the team remote's, the dependencies', or all. */
  scope?: "private" | "team" | "deps" | "all";
  language?: string;
  kind?: string;
  pathPrefix?: string;
}

/** The `zenith/search` params the Search Code picker sends for `query`. */
export function searchParams(query: string, filters: SearchFilters, limit: number): Record<string, unknown> {
  const params: Record<string, unknown> = { query, mode: filters.mode, limit };
  if (filters.language) params.language = filters.language;
  if (filters.kind) params.kind = filters.kind;
  if (filters.pathPrefix) params.pathPrefix = filters.pathPrefix;
  if (filters.scope && filters.scope !== "private") params.scope = filters.scope;
  return params;
}

/** The picker's title: the mode and the filters in force. */
export function searchTitle(filters: SearchFilters): string {
  const parts = [`Zenith: Search Code (${filters.mode})`];
  if (filters.scope === "team") parts.push("team remote");
  if (filters.scope === "deps") parts.push("dependencies");
  if (filters.scope === "all") parts.push("workspace + team + dependencies");
  if (filters.language) parts.push(`language ${filters.language}`);
  if (filters.kind) parts.push(`kind ${filters.kind}`);
  if (filters.pathPrefix) parts.push(`under ${filters.pathPrefix}`);
  return parts.join(" · ");
}
