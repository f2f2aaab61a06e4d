// Zenith for VS Code: starts `znt serve`, adds the two pickers, the status bar item and the
// commands. The logic that can be tested without VS Code lives in the pure modules beside it
// (server discovery, settings, items, status); this file is the glue.
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
  WorkDoneProgress,
  WorkDoneProgressCreateRequest,
} from "vscode-languageclient/node";

import { searchPicker, symbolPicker } from "./pickers";
import { checkVersion, findServer } from "./server";
import { needsRestart, serverLayer } from "./settings";
import { FolderStatus, ProgressTracker, ProgressValue, statusView } from "./status";

const LANGUAGES = [
  "rust", "python", "javascript", "javascriptreact", "typescript", "typescriptreact", "go", "java",
  "c", "cpp", "csharp", "ruby", "php",
];

class Zenith implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private state: "starting" | "running" | "stopped" | "missing" = "starting";
  private folders: FolderStatus[] = [];
  private progress = new ProgressTracker();
  private poll: NodeJS.Timeout | undefined;
  readonly log = vscode.window.createOutputChannel("Zenith", { log: true });
  private readonly item = vscode.window.createStatusBarItem("zenith.status", vscode.StatusBarAlignment.Left, 10);

  constructor() {
    this.item.name = "Zenith";
    this.item.command = "zenith.status";
    this.render();
    this.item.show();
  }

  /** The settings the user set explicitly (a default would override their own config files). */
  private layer() {
    const config = vscode.workspace.getConfiguration("zenith");
    return serverLayer((name) => {
      const inspected = config.inspect(name);
      return inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
    });
  }

  async start(): Promise<void> {
    const config = vscode.workspace.getConfiguration("zenith");
    const discovery = findServer(config.get<string>("server.path", ""));
    if (!discovery.found) {
      this.fail(discovery.message, discovery.tried);
      return;
    }
    const version = await checkVersion(discovery.path);
    if ("error" in version) {
      this.fail(version.error, [discovery.path]);
      return;
    }
    this.log.info(`znt ${version.version} at ${discovery.path} (from ${discovery.source})`);
    const args = [...config.get<string[]>("server.extraArgs", []), "serve"];
    const serverOptions: ServerOptions = { command: discovery.path, args, transport: TransportKind.stdio };
    const clientOptions: LanguageClientOptions = {
      documentSelector: LANGUAGES.map((language) => ({ scheme: "file", language })),
      initializationOptions: this.layer(),
      outputChannel: this.log,
      traceOutputChannel: this.log,
    };
    const client = new LanguageClient("zenith", "Zenith", serverOptions, clientOptions);
    client.onDidChangeState((change) => {
      if (change.newState === State.Stopped) {
        this.state = "stopped";
        this.render();
      }
    });
    this.client = client;
    this.state = "starting";
    this.render();
    try {
      await client.start();
    } catch (error) {
      this.fail(`znt serve did not start: ${error instanceof Error ? error.message : String(error)}`, [discovery.path]);
      return;
    }
    // The status bar is our progress indicator: progress tokens are tracked here rather than
    // turned into notifications.
    client.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
      client.onProgress(WorkDoneProgress.type, token, (value) => {
        this.progress.apply(token, value as ProgressValue);
        this.render();
        void this.refreshStatus();
      });
    });
    this.state = "running";
    this.schedulePoll();
    await this.refreshStatus();
  }

  private fail(message: string, tried: string[]): void {
    this.state = "missing";
    this.log.error(message);
    for (const path of tried) this.log.info(`looked for the server at ${path}`);
    this.render();
    void vscode.window.showErrorMessage(`Zenith: ${message}`, "Open Settings", "Show Log").then((choice) => {
      if (choice === "Open Settings") void vscode.commands.executeCommand("workbench.action.openSettings", "zenith.server.path");
      if (choice === "Show Log") this.log.show();
    });
  }

  private schedulePoll(): void {
    clearInterval(this.poll);
    this.poll = setInterval(() => void this.refreshStatus(), 5_000);
  }

  async refreshStatus(): Promise<FolderStatus[]> {
    if (!this.client || this.state !== "running") return this.folders;
    try {
      this.folders = await this.client.sendRequest<FolderStatus[]>("zenith/status");
    } catch (error) {
      this.log.warn(`zenith/status failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.render();
    return this.folders;
  }

  private render(): void {
    const view = statusView(this.state, this.folders, this.progress);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.command = view.severity === "error" ? "zenith.showLog" : "zenith.status";
    this.item.backgroundColor =
      view.severity === "error"
        ? new vscode.ThemeColor("statusBarItem.errorBackground")
        : view.severity === "warning"
          ? new vscode.ThemeColor("statusBarItem.warningBackground")
          : undefined;
  }

  running(): LanguageClient | undefined {
    if (this.client && this.state === "running") return this.client;
    void vscode.window.showWarningMessage("Zenith: the server is not running.", "Show Log", "Restart Server").then((choice) => {
      if (choice === "Show Log") this.log.show();
      if (choice === "Restart Server") void this.restart();
    });
    return undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    this.progress = new ProgressTracker();
    this.folders = [];
    await this.start();
  }

  async configurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!event.affectsConfiguration("zenith")) return;
    if (needsRestart((name) => event.affectsConfiguration(`zenith.${name}`))) {
      await this.restart();
    } else if (this.client && this.state === "running") {
      await this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: this.layer() });
    }
  }

  async showStatus(): Promise<void> {
    const folders = await this.refreshStatus();
    const rows: vscode.QuickPickItem[] = folders.map((folder) => ({
      label: `$(database) ${folder.root}`,
      description: `${folder.health}${folder.readOnly ? " · read-only" : ""}`,
      detail: [
        `${folder.symbols} symbols, ${folder.embedded} embedded, version ${folder.version}`,
        folder.healthMessage ?? "",
        folder.lastErrors.length ? `${folder.lastErrors.length} files skipped (see the log)` : "",
        `index: ${folder.index}`,
      ].filter(Boolean).join(" · "),
    }));
    for (const folder of folders) {
      for (const skipped of folder.lastErrors) this.log.info(`${folder.root}: skipped ${skipped.relative}: ${skipped.reason}`);
    }
    rows.push({ label: "$(output) Show Log" }, { label: "$(refresh) Reindex" }, { label: "$(debug-restart) Restart Server" });
    const choice = await vscode.window.showQuickPick(rows, { title: "Zenith: Index Status" });
    if (choice?.label === "$(output) Show Log") this.log.show();
    if (choice?.label === "$(refresh) Reindex") await vscode.commands.executeCommand("zenith.reindex");
    if (choice?.label === "$(debug-restart) Restart Server") await this.restart();
  }

  async stop(): Promise<void> {
    clearInterval(this.poll);
    const client = this.client;
    this.client = undefined;
    if (client && client.state !== State.Stopped) await client.stop().catch(() => undefined);
  }

  dispose(): void {
    void this.stop();
    this.item.dispose();
    this.log.dispose();
  }
}

/** One folder's answer to `zenith/team/push` (docs/lsp-extensions.md). */
interface TeamPushResult {
  root: string;
  report?: { files_sent: number; rows_sent: number } | null;
  error?: string | null;
}

/** One folder's answer to `zenith/team/status`. */
interface TeamStatusResult {
  root: string;
  status?: {
    remote: string;
    repo?: string | null;
    reachable: boolean;
    error?: string | null;
    repositories: string[];
    refs: { git_ref: string; commit: string; files: number; symbols: number; embedded: number }[];
  } | null;
  error?: string | null;
}

let zenith: Zenith | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const instance = new Zenith();
  zenith = instance;
  // Commands first: they must exist even when the server cannot start.
  context.subscriptions.push(
    instance,
    vscode.commands.registerCommand("zenith.symbols", () => {
      const client = instance.running();
      if (client) symbolPicker(client, instance.log);
    }),
    vscode.commands.registerCommand("zenith.search", () => {
      const client = instance.running();
      if (client) searchPicker(client, instance.log);
    }),
    vscode.commands.registerCommand("zenith.reindex", async () => {
      const client = instance.running();
      if (client) {
        await client.sendRequest("zenith/reindex");
        await instance.refreshStatus();
      }
    }),
    vscode.commands.registerCommand("zenith.status", () => instance.showStatus()),
    vscode.commands.registerCommand("zenith.teamPush", async () => {
      const client = instance.running();
      if (!client) return;
      // The server reports `$/progress` while it pushes; the answer says what was sent.
      const results = await client.sendRequest<TeamPushResult[]>("zenith/team/push", {});
      for (const result of results) {
        if (result.error) void vscode.window.showErrorMessage(`Zenith: pushing ${result.root} failed: ${result.error}`);
        else if (result.report)
          void vscode.window.showInformationMessage(
            `Zenith: pushed ${result.report.files_sent} files (${result.report.rows_sent} symbols) of ${result.root}`,
          );
      }
    }),
    vscode.commands.registerCommand("zenith.teamStatus", async () => {
      const client = instance.running();
      if (!client) return;
      const results = await client.sendRequest<TeamStatusResult[]>("zenith/team/status", {});
      const rows: vscode.QuickPickItem[] = results.flatMap((result): vscode.QuickPickItem[] => {
        if (!result.status) return [{ label: `$(error) ${result.root}`, detail: result.error ?? "" }];
        const team = result.status;
        const head = {
          label: `$(organization) ${team.repo ?? result.root}`,
          description: team.reachable ? `${team.repositories.length} repositories on ${team.remote}` : "unreachable",
          detail: team.error ?? undefined,
        };
        const refs = team.refs.map((ref) => ({
          label: `$(git-branch) ${ref.git_ref}`,
          description: ref.commit.slice(0, 12),
          detail: `${ref.files} files, ${ref.symbols} symbols, ${ref.embedded} embedded`,
        }));
        return [head, ...refs];
      });
      await vscode.window.showQuickPick(rows, { title: "Zenith: Team Remote" });
    }),
    vscode.commands.registerCommand("zenith.restart", () => instance.restart()),
    vscode.commands.registerCommand("zenith.showLog", () => instance.log.show()),
    vscode.workspace.onDidChangeConfiguration((event) => instance.configurationChanged(event)),
  );
  await instance.start();
}

export async function deactivate(): Promise<void> {
  await zenith?.stop();
}
