// The status bar's text from `$/progress` and `zenith/status`. Pure: no `vscode` import.

/** One folder of `zenith/status` (docs/lsp-extensions.md). */
export interface FolderStatus {
  root: string;
  index: string;
  readOnly: boolean;
  model: string;
  embedderLoaded: boolean;
  ready: boolean;
  version: number;
  symbols: number;
  embedded: number;
  pendingChanges: number;
  lastErrors: { relative: string; reason: string }[];
  lastCommitMs: number;
  indexing: boolean;
  watching: boolean;
  health: "ok" | "indexing" | "embedding" | "degraded" | "error";
  healthMessage?: string | null;
}

/** `$/progress` values of the work-done kind. */
export type ProgressValue =
  | { kind: "begin"; title: string; message?: string; percentage?: number }
  | { kind: "report"; message?: string; percentage?: number }
  | { kind: "end"; message?: string };

/** What each running progress token said last. */
export class ProgressTracker {
  private readonly running = new Map<string, { title: string; message?: string; percentage?: number }>();

  /** Applies one `$/progress` notification. */
  apply(token: string | number, value: ProgressValue): void {
    const key = String(token);
    if (value.kind === "begin") {
      this.running.set(key, { title: value.title, message: value.message, percentage: value.percentage });
    } else if (value.kind === "report") {
      const current = this.running.get(key);
      if (current) {
        current.message = value.message ?? current.message;
        current.percentage = value.percentage ?? current.percentage;
      }
    } else {
      this.running.delete(key);
    }
  }

  get active(): { title: string; message?: string; percentage?: number }[] {
    return [...this.running.values()];
  }
}

export type Severity = "normal" | "busy" | "warning" | "error";

export interface StatusView {
  text: string;
  tooltip: string;
  severity: Severity;
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}

function share(folder: FolderStatus): string {
  if (folder.symbols === 0) return "0 %";
  return `${Math.min(100, Math.floor((folder.embedded * 100) / folder.symbols))} %`;
}

/** One line of the tooltip per folder. */
export function folderLine(folder: FolderStatus): string {
  const name = folder.root.split("/").filter(Boolean).pop() ?? folder.root;
  const parts = [`${name}: ${count(folder.symbols)} symbols`];
  if (folder.embedderLoaded) parts.push(`${share(folder)} embedded`);
  if (folder.readOnly) parts.push("read-only (another Zenith process writes this index)");
  if (folder.health !== "ok" && folder.healthMessage) parts.push(folder.healthMessage);
  if (folder.lastErrors.length) parts.push(`${folder.lastErrors.length} files skipped`);
  return parts.join(", ");
}

/**
 * The status bar item: progress first (the percentage of the running index), then the worst
 * health of any folder, else the symbol count. `server` is the client's own state.
 */
export function statusView(
  server: "starting" | "running" | "stopped" | "missing",
  folders: readonly FolderStatus[],
  progress: ProgressTracker,
): StatusView {
  if (server === "missing") {
    return { text: "$(error) Zenith", tooltip: "The znt server was not found. Click for the log.", severity: "error" };
  }
  if (server === "stopped") {
    return { text: "$(error) Zenith stopped", tooltip: "The server stopped. Click for the log; run Zenith: Restart Server.", severity: "error" };
  }
  const lines = folders.map(folderLine);
  const failed = folders.find((f) => f.health === "error");
  if (failed) {
    return { text: "$(error) Zenith", tooltip: [failed.healthMessage ?? "indexing failed", ...lines, "Click for the log."].join("\n"), severity: "error" };
  }
  const running = progress.active;
  if (server === "starting" || running.length > 0) {
    const percentages = running.map((p) => p.percentage).filter((p): p is number => p !== undefined);
    const percentage = percentages.length ? ` ${Math.min(...percentages)} %` : "";
    const message = running.map((p) => [p.title, p.message].filter(Boolean).join(": ")).join("\n");
    return { text: `$(sync~spin) Zenith${percentage}`, tooltip: [message || "starting", ...lines].join("\n"), severity: "busy" };
  }
  const degraded = folders.find((f) => f.health === "degraded");
  const symbols = folders.reduce((sum, f) => sum + f.symbols, 0);
  if (degraded) {
    return { text: `$(warning) Zenith ${count(symbols)}`, tooltip: [degraded.healthMessage ?? "degraded", ...lines].join("\n"), severity: "warning" };
  }
  const busy = folders.find((f) => f.health === "indexing" || f.health === "embedding");
  if (busy) {
    return { text: `$(sync~spin) Zenith ${share(busy)}`, tooltip: lines.join("\n"), severity: "busy" };
  }
  return { text: `$(database) Zenith ${count(symbols)}`, tooltip: lines.join("\n") || "no folder indexed", severity: "normal" };
}
