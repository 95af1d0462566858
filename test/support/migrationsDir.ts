/**
 * Helpers for migration tests: temp migration directories (removed when the
 * process exits), engine settings, a pg client, and the schema CLI as a child
 * process (ts-node, so no build is needed).
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { loadMigrations } from "../../components/schema/migrationSet";
import { applyMigrations, DEFAULT_ENGINE_SETTINGS, EngineSettings } from "../../components/schema/runner";
import { tempDir } from "./tempDir";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** A new temp directory holding `files` (file name -> SQL text). */
export function migrationsDir(files: Record<string, string> = {}): string {
    const dir = tempDir("keel-migrations-");
    writeMigrations(dir, files);
    return dir;
}

/** Writes (or overwrites) files in `dir`. */
export function writeMigrations(dir: string, files: Record<string, string>): void {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
}

/** Engine settings for tests: the defaults with a short lock wait, overridable. */
export function engineSettings(overrides: Partial<EngineSettings> = {}): EngineSettings {
    return {
        ...DEFAULT_ENGINE_SETTINGS,
        lockWaitSeconds: 30,
        appliedBy: "test",
        ...overrides,
        plan: { ...DEFAULT_ENGINE_SETTINGS.plan, ...(overrides.plan ?? {}) },
    };
}

/** A connected pg client; call end() when done. */
export async function connect(url: string): Promise<Client> {
    const client = new Client({ connectionString: url });
    client.on("error", () => undefined);
    await client.connect();
    return client;
}

/** Runs `fn` with a connected client and closes it afterwards. */
export async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
    const client = await connect(url);
    try {
        return await fn(client);
    } finally {
        await client.end().catch(() => undefined);
    }
}

export interface HistoryRowRaw {
    version: string;
    name: string;
    checksum: string;
    status: string;
    applied_by: string;
    execution_ms: number;
}

/** The history table's rows, oldest first; [] when the table does not exist. */
export async function historyRows(url: string, table = "public.keel_schema_history"): Promise<HistoryRowRaw[]> {
    return withClient(url, async (c) => {
        const exists = await c.query("SELECT to_regclass($1) IS NOT NULL AS present", [table]);
        if (!exists.rows[0].present) return [];
        const res = await c.query(
            `SELECT h.version::text AS version, h.name, h.checksum, h.status, h.applied_by, h.execution_ms FROM ${table} h ORDER BY h.version`,
        );
        return res.rows;
    });
}

/** True when the relation (optionally schema-qualified) exists. */
export async function relationExists(url: string, name: string): Promise<boolean> {
    return withClient(url, async (c) => (await c.query("SELECT to_regclass($1) IS NOT NULL AS present", [name])).rows[0].present);
}

export interface CliResult {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
}

/** Environment for the CLI: DATABASE_URL set (or removed when undefined). */
function cliEnv(databaseUrl: string | undefined, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
    delete env.DATABASE_URL;
    if (databaseUrl !== undefined) env.DATABASE_URL = databaseUrl;
    return env;
}

let externalProject: string | undefined;

/**
 * A project whose dev stack is an existing server read from DATABASE_URL (kind
 * external, no keel:databaseUrl), the one kind whose commands take DATABASE_URL
 * (scripts/lib/stackDatabase.ts): where the schema CLI runs by default.
 */
export function externalDevProject(): string {
    if (externalProject && fs.existsSync(externalProject)) return externalProject;
    externalProject = tempDir("keel-external-project-");
    fs.writeFileSync(path.join(externalProject, "Pulumi.yaml"), "name: keel\nruntime: nodejs\n");
    fs.writeFileSync(path.join(externalProject, "Pulumi.dev.yaml"), "config:\n  keel:database:\n    kind: external\n");
    return externalProject;
}

/** Starts `keel schema <args>` (cli/main.ts) under ts-node in a project directory (one whose dev stack reads DATABASE_URL by default). */
export function spawnCli(
    args: string[],
    databaseUrl: string | undefined,
    extraEnv: NodeJS.ProcessEnv = {},
    cwd = externalDevProject(),
): ChildProcess {
    return spawn(
        process.execPath,
        ["-r", require.resolve("ts-node/register/transpile-only"), path.join(REPO_ROOT, "cli", "main.ts"), "schema", ...args],
        {
            cwd,
            // ts-node looks for a tsconfig.json from the working directory: a project elsewhere uses the repository's.
            env: { ...cliEnv(databaseUrl, extraEnv), TS_NODE_PROJECT: path.join(REPO_ROOT, "tsconfig.json") },
            stdio: ["ignore", "pipe", "pipe"],
        },
    );
}

/**
 * Waits for a started CLI to exit and collects its output. With `deadlineMs`, a process still running
 * then is killed and the wait fails naming it with what it printed, rather than leaving a test's
 * timeout to say only that something hung.
 */
export function cliResult(child: ChildProcess, deadline?: { what: string; deadlineMs: number }): Promise<CliResult> {
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    return new Promise((resolve, reject) => {
        const timer =
            deadline &&
            setTimeout(() => {
                child.kill("SIGKILL");
                reject(new Error(`${deadline.what} was still running after ${deadline.deadlineMs} ms; it printed:\n${stdout}${stderr}`));
            }, deadline.deadlineMs);
        child.on("error", reject);
        child.on("close", (code, signal) => {
            if (timer) clearTimeout(timer);
            resolve({ code, signal, stdout, stderr });
        });
    });
}

/** Runs the CLI to completion. */
export function runCli(
    args: string[],
    databaseUrl: string | undefined,
    extraEnv: NodeJS.ProcessEnv = {},
    cwd = externalDevProject(),
): Promise<CliResult> {
    return cliResult(spawnCli(args, databaseUrl, extraEnv, cwd));
}

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (await check()) return;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

/** The error a promise rejects with; fails when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
    try {
        await p;
    } catch (err) {
        return err as Error;
    }
    throw new Error("expected the promise to reject, but it resolved");
}

/** Loads and applies every migration of a directory with the test settings. */
export async function applyDir(url: string, dir: string, overrides: Partial<EngineSettings> = {}) {
    return applyMigrations(url, await loadMigrations(dir), engineSettings(overrides));
}
