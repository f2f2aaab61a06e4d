// The two pickers. Both ask the server on every keystroke and show its answer in its order.
//
// VS Code re-sorts QuickPick items whose label matches the typed text (`sortByLabel` is a
// proposed API, closed to published extensions). So the label holds only the kind's icon,
// which the matcher ignores, the name goes in the description and every item has `alwaysShow`:
// nothing matches, nothing is hidden, and the order is the server's.
import * as vscode from "vscode";
import type { LanguageClient } from "vscode-languageclient/node";

import {
  PickItem,
  SearchFilters,
  SearchResult,
  WorkspaceSymbol,
  searchItems,
  searchParams,
  searchTitle,
  symbolItems,
} from "./items";

type Row = vscode.QuickPickItem & { location?: PickItem["location"]; repo?: string };

function roots(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.toString());
}

/** Splits `$(icon) text` so the text moves to the description (see the module comment). */
function toRow(item: PickItem, secondary: (item: PickItem) => string): Row {
  const match = /^(\$\([^)]+\))\s*(.*)$/.exec(item.label);
  const icon = match?.[1] ?? "$(symbol-misc)";
  const text = match?.[2] ?? item.label;
  const extra = secondary(item);
  return {
    label: icon,
    description: extra ? `${text}  ${extra}` : text,
    detail: item.detail,
    alwaysShow: true,
    location: item.location,
    repo: item.repo,
  };
}

async function open(location: PickItem["location"], preview: boolean): Promise<void> {
  const uri = vscode.Uri.parse(location.uri);
  const start = new vscode.Position(location.range.start.line, location.range.start.character);
  await vscode.window.showTextDocument(uri, {
    selection: new vscode.Range(start, start),
    preview,
    preserveFocus: preview,
  });
}

/** Sends requests as the user types; only the answer to the latest text is shown. */
class LiveQuery<T> {
  private sequence = 0;
  private cancel?: vscode.CancellationTokenSource;

  constructor(
    private readonly picker: vscode.QuickPick<Row>,
    private readonly ask: (text: string, token: vscode.CancellationToken) => Thenable<T>,
    private readonly show: (answer: T) => Row[],
    private readonly log: vscode.OutputChannel,
  ) {}

  run(text: string): void {
    const sequence = ++this.sequence;
    this.cancel?.cancel();
    this.cancel = new vscode.CancellationTokenSource();
    this.picker.busy = true;
    this.ask(text, this.cancel.token).then(
      (answer) => {
        if (sequence !== this.sequence) return;
        this.picker.items = this.show(answer);
        this.picker.busy = false;
      },
      (error: unknown) => {
        if (sequence !== this.sequence) return;
        this.picker.busy = false;
        const message = error instanceof Error ? error.message : String(error);
        if (!/cancel/i.test(message)) {
          this.picker.items = [{ label: "$(error)", description: message, alwaysShow: true }];
          this.log.appendLine(`request failed: ${message}`);
        }
      },
    );
  }

  dispose(): void {
    this.cancel?.cancel();
  }
}

/** Zenith: Go to Symbol in Workspace. */
export function symbolPicker(client: LanguageClient, log: vscode.OutputChannel, initial = ""): void {
  const picker = vscode.window.createQuickPick<Row>();
  picker.title = "Zenith: Go to Symbol in Workspace";
  picker.placeholder = "Type a name, a prefix or an initialism (ibfo → initBookForOfficial)";
  picker.matchOnDescription = false;
  picker.matchOnDetail = false;
  const limit = vscode.workspace.getConfiguration("zenith").get<number>("symbols.limit", 200);
  const live = new LiveQuery<WorkspaceSymbol[] | null>(
    picker,
    (text, token) => client.sendRequest<WorkspaceSymbol[] | null>("workspace/symbol", { query: text }, token),
    (symbols) => symbolItems((symbols ?? []).slice(0, limit), roots()).map((item) => toRow(item, (i) => i.description)),
    log,
  );
  picker.onDidChangeValue((text) => live.run(text));
  picker.onDidAccept(() => {
    const location = picker.selectedItems[0]?.location;
    picker.hide();
    if (location) void open(location, false);
  });
  picker.onDidHide(() => {
    live.dispose();
    picker.dispose();
  });
  picker.value = initial;
  picker.show();
  live.run(initial);
}

const MODES: SearchFilters["mode"][] = ["hybrid", "semantic", "fulltext"];
const SCOPES: NonNullable<SearchFilters["scope"]>[] = ["private", "all", "deps", "team"];
const LANGUAGES = ["rust", "python", "javascript", "typescript", "go", "java", "c", "cpp", "csharp", "ruby", "php"];
const KINDS = ["function", "method", "class", "struct", "enum", "interface", "trait", "type_alias", "constant", "field", "module", "macro"];

/** Zenith: Search Code, with toggles for the mode and the filters. */
export function searchPicker(client: LanguageClient, log: vscode.OutputChannel): void {
  const config = vscode.workspace.getConfiguration("zenith");
  const filters: SearchFilters = {
    mode: config.get<SearchFilters["mode"]>("search.mode", "hybrid"),
    scope: config.get<NonNullable<SearchFilters["scope"]>>("search.scope", "private"),
  };
  const limit = config.get<number>("search.limit", 30);
  const picker = vscode.window.createQuickPick<Row>();
  picker.placeholder = "Describe the code (\"parse a config file\") or type words from it";
  picker.matchOnDescription = false;
  picker.matchOnDetail = false;
  const buttons = {
    mode: { iconPath: new vscode.ThemeIcon("symbol-misc"), tooltip: "Mode: hybrid → semantic → fulltext" },
    language: { iconPath: new vscode.ThemeIcon("code"), tooltip: "Filter by language" },
    kind: { iconPath: new vscode.ThemeIcon("symbol-class"), tooltip: "Filter by kind" },
    path: { iconPath: new vscode.ThemeIcon("folder"), tooltip: "Filter by path prefix" },
    scope: { iconPath: new vscode.ThemeIcon("organization"), tooltip: "Indexes: workspace → all → dependencies → team" },
  };
  picker.buttons = [buttons.mode, buttons.scope, buttons.language, buttons.kind, buttons.path];
  const live = new LiveQuery<SearchResult[]>(
    picker,
    (text, token) =>
      text.trim() === ""
        ? Promise.resolve([])
        : client.sendRequest<SearchResult[]>("zenith/search", searchParams(text, filters, limit), token),
    (results) => searchItems(results, roots()).map((item) => toRow(item, (i) => i.description)),
    log,
  );
  const refresh = () => {
    picker.title = searchTitle(filters);
    live.run(picker.value);
  };
  // A filter's own picker hides this one for a moment: it must not be disposed then.
  let choosing = false;
  const choose = async (title: string, options: string[]): Promise<string | undefined> => {
    choosing = true;
    try {
      return await vscode.window.showQuickPick(["(any)", ...options], { title });
    } finally {
      choosing = false;
    }
  };
  picker.onDidTriggerButton(async (button) => {
    if (button === buttons.mode) {
      filters.mode = MODES[(MODES.indexOf(filters.mode) + 1) % MODES.length];
    } else if (button === buttons.scope) {
      filters.scope = SCOPES[(SCOPES.indexOf(filters.scope ?? "private") + 1) % SCOPES.length];
    } else if (button === buttons.language) {
      const choice = await choose("Language", LANGUAGES);
      if (choice !== undefined) filters.language = choice === "(any)" ? undefined : choice;
    } else if (button === buttons.kind) {
      const choice = await choose("Kind", KINDS);
      if (choice !== undefined) filters.kind = choice === "(any)" ? undefined : choice;
    } else if (button === buttons.path) {
      choosing = true;
      const prefix = await vscode.window
        .showInputBox({ title: "Path prefix (relative to the workspace folder; empty: any)", value: filters.pathPrefix ?? "" })
        .then((value) => ((choosing = false), value));
      if (prefix !== undefined) filters.pathPrefix = prefix.trim() || undefined;
    }
    picker.show();
    refresh();
  });
  picker.onDidChangeValue(() => refresh());
  // The signature and doc are in each row; the highlighted result is also previewed in the editor.
  picker.onDidChangeActive((active) => {
    const location = active[0]?.location;
    if (location && !active[0]?.repo) void open(location, true);
  });
  picker.onDidAccept(() => {
    const row = picker.selectedItems[0];
    picker.hide();
    if (row?.repo) {
      // A teammate's repository: not a file of this workspace; say where it is.
      void vscode.window.showInformationMessage(`${row.description ?? ""} (in ${row.repo} on the team remote)`);
    } else if (row?.location) {
      void open(row.location, false);
    }
  });
  picker.onDidHide(() => {
    if (choosing) return;
    live.dispose();
    picker.dispose();
  });
  picker.title = searchTitle(filters);
  picker.show();
}
