// VS Code settings -> the server's settings layer (`initializationOptions` and
// `workspace/didChangeConfiguration`). Pure: no `vscode` import, so it is unit-tested in Node.
//
// Only settings the user actually set are sent: a default sent from here would override the
// user's own `~/.config/zenith/config.toml` and the workspace's `.zenith.toml`, which come
// before the editor's layer. The server rejects unknown keys, so the mapping is exact.

/** One VS Code setting (`zenith.<section>.<key>`) and the server key it becomes. */
interface Mapping {
  setting: string;
  section: "index" | "embed" | "lsp" | "team";
  key: string;
}

/** Every setting the server takes, in the order of docs/configuration.md. */
export const SERVER_SETTINGS: readonly Mapping[] = [
  { setting: "index.dir", section: "index", key: "dir" },
  { setting: "index.maxFileBytes", section: "index", key: "max_file_bytes" },
  { setting: "index.secretPatterns", section: "index", key: "secret_patterns" },
  { setting: "index.skippedDirs", section: "index", key: "skipped_dirs" },
  { setting: "index.skipHidden", section: "index", key: "skip_hidden" },
  { setting: "index.parseDeadlineMs", section: "index", key: "parse_deadline_ms" },
  { setting: "embed.enabled", section: "embed", key: "enabled" },
  { setting: "embed.threads", section: "embed", key: "threads" },
  { setting: "embed.batchSize", section: "embed", key: "batch_size" },
  { setting: "embed.maxTokens", section: "embed", key: "max_tokens" },
  { setting: "embed.precision", section: "embed", key: "precision" },
  { setting: "lsp.symbolLimit", section: "lsp", key: "symbol_limit" },
  { setting: "lsp.batchWindowMs", section: "lsp", key: "batch_window_ms" },
  { setting: "lsp.symbolScope", section: "lsp", key: "symbol_scope" },
  { setting: "team.remote", section: "team", key: "remote" },
  { setting: "team.repo", section: "team", key: "repo" },
  { setting: "team.push", section: "team", key: "push" },
  { setting: "team.pushIntervalSecs", section: "team", key: "push_interval_secs" },
  { setting: "team.exclude", section: "team", key: "exclude" },
];

export type ServerLayer = Partial<Record<"index" | "embed" | "lsp" | "team", Record<string, unknown>>>;

/**
 * Builds the server's layer from the settings the user set. `explicit(name)` returns the value
 * of `zenith.<name>` when some scope (user, workspace, folder) sets it, else `undefined`.
 * `null` counts as unset: it is the "use Zenith's default" value of every nullable setting.
 */
export function serverLayer(explicit: (setting: string) => unknown): ServerLayer {
  const layer: ServerLayer = {};
  for (const { setting, section, key } of SERVER_SETTINGS) {
    const value = explicit(setting);
    if (value === undefined || value === null) {
      continue;
    }
    (layer[section] ??= {})[key] = value;
  }
  return layer;
}

/** Settings that need a server restart to take effect (the model is loaded once per process). */
export function needsRestart(changed: (setting: string) => boolean): boolean {
  return (
    changed("server.path") ||
    changed("server.extraArgs") ||
    changed("index.dir") ||
    changed("team.push") ||
    changed("team.pushIntervalSecs") ||
    SERVER_SETTINGS.some(({ setting, section }) => section === "embed" && changed(setting))
  );
}
