/**
 * A project copy that is a git checkout, for rollbacks through the real engine:
 * each deploy is a commit, and `npm run rollback` runs as a process in it
 * (asynchronously: the fakes it calls answer from this process). Used by the
 * rollback end-to-end tests and bench:rollback.
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Stack } from "@pulumi/pulumi/automation";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";
import { EngineWorkspace, ROOT } from "./engine";

export class RollbackWorkspace {
    /** Commits by the name they were deployed under. */
    readonly commits: Record<string, string> = {};

    private constructor(
        readonly ws: EngineWorkspace,
        readonly cli: PulumiCli,
        readonly stackName: string,
        public stack: Stack,
    ) {}

    /** A git checkout of the project whose `stackName` stack file `configure` edits, with `config` set (secret where asked). */
    static async create(
        cli: PulumiCli,
        stackName: string,
        configure: (c: Record<string, any>) => void,
        config: Record<string, { value: string; secret?: boolean }>,
        env: Record<string, string | undefined> = {},
    ): Promise<RollbackWorkspace> {
        const ws = EngineWorkspace.create(cli, env);
        // A real lockfile in the checkout, as a project has: the rollback reuses the packages when the target's is the same.
        fs.copyFileSync(path.join(ROOT, "package-lock.json"), path.join(ws.root, "package-lock.json"));
        const git = (...args: string[]) => execFileSync("git", args, { cwd: ws.root });
        git("init", "-q", "-b", "main");
        git("config", "user.email", "dev@example.com");
        git("config", "user.name", "Dev");
        ws.editStackFile(stackName, configure);
        const stack = await ws.stack(stackName);
        for (const [key, v] of Object.entries(config)) await stack.setConfig(key, { value: v.value, secret: !!v.secret });
        return new RollbackWorkspace(ws, cli, stackName, stack);
    }

    git(...args: string[]): string {
        return execFileSync("git", args, { cwd: this.ws.root, encoding: "utf8" }).trim();
    }

    edit(configure: (c: Record<string, any>) => void): void {
        this.ws.editStackFile(this.stackName, configure);
    }

    /** Commits the workspace as it is, under `name`, and deploys it as npm run up does. */
    async deploy(name: string): Promise<void> {
        this.git("add", "-A");
        this.git("commit", "-q", "-m", name);
        this.commits[name] = this.git("rev-parse", "HEAD");
        const up = await this.stack.up({});
        if (up.summary.result !== "succeeded") throw new Error(`deploy ${name}: ${up.summary.result}`);
    }

    /** npm run rollback -- --stack <stack> <args>, as a process; resolves with its exit code and output. */
    rollback(...args: string[]): Promise<{ status: number | null; text: string }> {
        const child = spawn(process.execPath, [path.join(ROOT, "dist/scripts/rollback.js"), "--stack", this.stackName, ...args], {
            cwd: this.ws.root,
            env: { ...this.ws.env, PATH: `${path.dirname(this.cli.bin)}${path.delimiter}${process.env.PATH}` } as NodeJS.ProcessEnv,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let text = "";
        child.stdout.on("data", (d) => (text += d));
        child.stderr.on("data", (d) => (text += d));
        return new Promise((resolve) => child.on("close", (status) => resolve({ status, text })));
    }
}
