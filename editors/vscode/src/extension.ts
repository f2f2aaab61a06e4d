// Zenith for VS Code: a thin client that starts `znt serve` and exposes zenith/search.
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";

let client: LanguageClient | undefined;

interface SearchResult {
  name: string;
  qualifiedName: string;
  kind: string;
  signature: string;
  doc?: string;
  score: number;
  location: { uri: string; range: { start: { line: number; character: number } } };
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration("zenith");
  const command = config.get<string>("path", "znt");
  const serverOptions: ServerOptions = { command, args: ["serve"] };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }],
    initializationOptions: { symbolLimit: config.get<number>("symbolLimit", 1000) },
  };
  client = new LanguageClient("zenith", "Zenith", serverOptions, clientOptions);
  await client.start();

  context.subscriptions.push(
    vscode.commands.registerCommand("zenith.search", async () => {
      const query = await vscode.window.showInputBox({ prompt: "Search code by meaning or words" });
      if (!query || !client) {
        return;
      }
      const results = await client.sendRequest<SearchResult[]>("zenith/search", { query, mode: "hybrid", limit: 30 });
      const picked = await vscode.window.showQuickPick(
        results.map((r) => ({
          label: r.qualifiedName,
          description: `${r.kind} · ${r.score.toFixed(3)}`,
          detail: r.doc ? `${r.signature} — ${r.doc.split("\n")[0]}` : r.signature,
          result: r,
        })),
        { matchOnDescription: true, matchOnDetail: true },
      );
      if (picked) {
        const start = picked.result.location.range.start;
        const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(picked.result.location.uri));
        const position = new vscode.Position(start.line, start.character);
        await vscode.window.showTextDocument(document, { selection: new vscode.Range(position, position) });
      }
    }),
    vscode.commands.registerCommand("zenith.reindex", async () => {
      await client?.sendRequest("zenith/reindex");
    }),
  );
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
