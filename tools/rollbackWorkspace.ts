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
import type { PulumiCli } from "../scripts/lib/pulumiCli";
import { EngineWorkspace, ROOT } from "./engineWorkspace";
import { freePort } from "./objectStores";

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

    /**
     * The dev stack with its local database on a free port, no passphrase: as a newcomer has it. The
     * server's user (postgres, when root) must reach the project: the temporary directory is opened to it.
     */
    static async localDev(cli: PulumiCli): Promise<RollbackWorkspace> {
        const port = await freePort();
        const rw = await RollbackWorkspace.create(
            cli,
            "dev",
            (c) => {
                c["keel:database"].local.port = port;
            },
            {},
            { PULUMI_CONFIG_PASSPHRASE: "" },
        );
        fs.chmodSync(rw.ws.root, 0o755);
        return rw;
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
        return this.start(...args).done;
    }

    /** npm run rollback -- --stack <stack> <args>, started: its output as it comes, and the process to pause and resume. */
    start(...args: string[]): RunningRollback {
        const child = spawn(process.execPath, [path.join(ROOT, "dist/cli/main.js"), "rollback", "--stack", this.stackName, ...args], {
            cwd: this.ws.root,
            env: { ...this.ws.env, PATH: `${path.dirname(this.cli.bin)}${path.delimiter}${process.env.PATH}` } as NodeJS.ProcessEnv,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let text = "";
        const waiting: { pattern: RegExp; resolve: () => void }[] = [];
        const onData = (d: Buffer) => {
            text += d;
            for (const w of waiting.filter((x) => x.pattern.test(text))) {
                waiting.splice(waiting.indexOf(w), 1);
                w.resolve();
            }
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        const done = new Promise<{ status: number | null; text: string }>((resolve) =>
            child.on("close", (status) => resolve({ status, text })),
        );
        return {
            pid: child.pid!,
            done,
            output: (pattern) =>
                pattern.test(text)
                    ? Promise.resolve()
                    : Promise.race([
                          new Promise<void>((resolve) => waiting.push({ pattern, resolve })),
                          done.then((r) => {
                              throw new Error(`the rollback ended (exit ${r.status}) before printing ${pattern}:\n${r.text}`);
                          }),
                      ]),
            pause: () => void child.kill("SIGSTOP"),
            resume: () => void child.kill("SIGCONT"),
        };
    }
}

export interface RunningRollback {
    pid: number;
    done: Promise<{ status: number | null; text: string }>;
    /** Resolves once the output so far matches; rejects if the process ends first. */
    output(pattern: RegExp): Promise<void>;
    pause(): void;
    resume(): void;
}
