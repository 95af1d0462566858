/**
 * A copy of the project the real engine runs in: Keel's own program inline (as
 * `npm run up` runs it, scripts/lib/engine.ts), with the project's own stack
 * files (so a run never changes the repository) and the state in a temporary
 * file backend. For the end-to-end tests and the benchmarks.
 */
import { spawn, spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import type { Stack } from "@pulumi/pulumi/automation";
import { keelStack } from "../scripts/lib/engine";
import type { PulumiCli } from "../scripts/lib/pulumiCli";
import { ROOT } from "./repoRoot";
import { tempDir } from "./tempDir";

export { ROOT };

/** What a workspace holds of its own; the code is linked from the repository. */
const LINKED = [
    "index.ts",
    "keel",
    "cli",
    "components",
    "scripts",
    "tools",
    "policies",
    "dist",
    "node_modules",
    "package.json",
    "tsconfig.json",
];
const COPIED = [".gitignore", "Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml", "migrations", "db"];

export class EngineWorkspace {
    private constructor(
        /** The copy of the project the engine runs in. */
        readonly root: string,
        /** The file backend's directory. */
        readonly state: string,
        private readonly cli: PulumiCli,
        readonly env: Record<string, string | undefined>,
    ) {}

    static create(cli: PulumiCli, env: Record<string, string | undefined> = {}): EngineWorkspace {
        const root = tempDir("keel-e2e-project-");
        for (const entry of COPIED) {
            if (fs.existsSync(path.join(ROOT, entry))) fs.cpSync(path.join(ROOT, entry), path.join(root, entry), { recursive: true });
        }
        for (const entry of LINKED) fs.symlinkSync(path.join(ROOT, entry), path.join(root, entry));
        // The example's masking rules classify its own migrations; tests add migrations of their own to a stack that
        // receives copies (staging), so a test about masking writes the rules it means (test/e2e/maskingPreview.test.ts).
        fs.rmSync(path.join(root, "db", "masking.yaml"), { force: true });
        const state = tempDir("keel-e2e-state-");
        return new EngineWorkspace(root, state, cli, {
            ...process.env,
            PULUMI_BACKEND_URL: `file://${state}`,
            PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase",
            // Only the stack's config may carry vendor credentials: the environment must not.
            NEON_API_KEY: "",
            FLY_API_TOKEN: "",
            RENDER_API_KEY: "",
            VERCEL_API_TOKEN: "",
            ...env,
        });
    }

    /** The stack with Keel's program, as `npm run up -- <stack>` selects it. */
    stack(name: string): Promise<Stack> {
        return keelStack({ root: this.root, stack: name, env: this.env, cli: this.cli });
    }

    /** Edits the copy's Pulumi.<stack>.yaml `config:` map (a user's edit of the file). */
    editStackFile(stack: string, edit: (config: Record<string, any>) => void): void {
        const file = path.join(this.root, `Pulumi.${stack}.yaml`);
        const doc = (fs.existsSync(file) ? parse(fs.readFileSync(file, "utf8")) : null) ?? {};
        doc.config ??= {};
        edit(doc.config);
        fs.writeFileSync(file, stringify(doc));
    }

    /** Remembers the stack file and the migration files as they are now; the function returned puts them back. */
    snapshot(stack: string): () => void {
        const file = path.join(this.root, `Pulumi.${stack}.yaml`);
        const dir = path.join(this.root, "migrations");
        const text = fs.readFileSync(file, "utf8");
        const files = fs.readdirSync(dir);
        return () => {
            fs.writeFileSync(file, text);
            for (const f of fs.readdirSync(dir)) if (!files.includes(f)) fs.rmSync(path.join(dir, f));
        };
    }

    writeMigration(name: string, sql: string): void {
        fs.mkdirSync(path.join(this.root, "migrations"), { recursive: true });
        fs.writeFileSync(path.join(this.root, "migrations", name), sql);
    }

    /**
     * `keel <args>` (node dist/cli/main.js) in the workspace as npm runs it, with no terminal: the CLI on PATH,
     * the workspace's backend, and only the variables given (an undefined one is left out).
     */
    runKeel(args: string[], extra: Record<string, string | undefined> = {}): SpawnSyncReturns<string> {
        return spawnSync(process.execPath, [path.join(ROOT, "dist/cli/main.js"), ...args], {
            cwd: this.root,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
            env: this.keelEnv(extra),
            timeout: 5 * 60_000,
        });
    }

    /**
     * runKeel without blocking this process: for fakes served from it (a synchronous spawn would stop
     * them answering, and the command would wait for them until its timeout).
     */
    runKeelAsync(
        args: string[],
        extra: Record<string, string | undefined> = {},
    ): Promise<{ status: number | null; stdout: string; stderr: string }> {
        return new Promise((resolve, reject) => {
            const child = spawn(process.execPath, [path.join(ROOT, "dist/cli/main.js"), ...args], {
                cwd: this.root,
                stdio: ["ignore", "pipe", "pipe"],
                env: this.keelEnv(extra),
            });
            let stdout = "";
            let stderr = "";
            child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
            child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
            const timer = setTimeout(() => child.kill(), 5 * 60_000);
            child.on("error", reject);
            child.on("close", (status) => {
                clearTimeout(timer);
                resolve({ status, stdout, stderr });
            });
        });
    }

    private keelEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
        const env: Record<string, string | undefined> = {
            PATH: `${path.dirname(this.cli.bin)}${path.delimiter}${process.env.PATH}`,
            PULUMI_BACKEND_URL: this.env.PULUMI_BACKEND_URL,
            HOME: process.env.HOME,
            USER: "e2e",
            ...extra,
        };
        return Object.fromEntries(Object.entries(env).filter((e) => e[1] !== undefined)) as NodeJS.ProcessEnv;
    }

    /** Every file the backend wrote (checkpoints, history, backups), to search as bytes. */
    stateFiles(): string[] {
        return (fs.readdirSync(this.state, { recursive: true, encoding: "utf8" }) as string[])
            .map((f) => path.join(this.state, f))
            .filter((f) => fs.statSync(f).isFile());
    }

    /** The stack's current checkpoint as the backend stores it (secrets encrypted). */
    checkpointText(stack: string): string {
        return fs.readFileSync(path.join(this.state, ".pulumi", "stacks", "keel", `${stack}.json`), "utf8");
    }

    /** The files that hold any of the given strings in plain bytes. */
    filesHolding(secrets: string[]): string[] {
        const found: string[] = [];
        for (const file of this.stateFiles()) {
            const bytes = fs.readFileSync(file);
            for (const s of secrets)
                if (bytes.includes(Buffer.from(s))) found.push(`${path.relative(this.state, file)} holds ${s.slice(0, 4)}…`);
        }
        return found;
    }
}

/** The engine's ops that delete or replace, as its count of an update's changes names them. */
const LOSING_OPS = ["delete", "replace", "create-replacement", "delete-replaced", "discard", "discard-replaced"];

/** The ops of the stack's last update (its history entry, the engine's own record) that deleted or replaced something. */
export async function lastUpdateLosses(stack: Stack): Promise<string[]> {
    const [last] = await stack.history(1);
    return LOSING_OPS.filter((op) => (last?.resourceChanges as Record<string, number> | undefined)?.[op]);
}
