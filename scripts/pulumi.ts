/**
 * keel pulumi <pulumi arguments> (npm run pulumi -- …): the Pulumi CLI against Keel's state
 * backend, without `pulumi login` and without exporting anything. The stack is
 * `--stack`/`-s` when given, else dev (PULUMI_STACK); the dev stack's empty
 * passphrase is supplied. For example:
 *
 *     npm run pulumi -- stack output databaseUrl --show-secrets
 *     npm run pulumi -- stack history --stack staging
 *
 * Commands that run the program (up, preview, refresh, destroy) go through
 * `npm run up` and the others, which need no language host.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { engineEnv } from "./lib/engine";
import { pulumiCliOrBuild } from "./lib/pulumiCli";

const RUNS_THE_PROGRAM = new Set(["up", "update", "preview", "pre", "refresh", "destroy", "down"]);

/** The stack the arguments name, or undefined. */
export function stackArgument(args: string[]): string | undefined {
    for (let i = 0; i < args.length; i++) {
        if (args[i] === "--stack" || args[i] === "-s") return args[i + 1];
        const inline = /^--stack=(.+)$/.exec(args[i]);
        if (inline) return inline[1];
    }
    return undefined;
}

export interface Passthrough {
    bin: string;
    env: Record<string, string | undefined>;
    /** Create the stack first (its stack file exists): `config set` on a fresh clone, before the first up. */
    createStack?: string;
}

export function pulumiPassthrough(
    args: string[],
    root: string,
    env: Record<string, string | undefined>,
): Passthrough | { error: string; code: number } {
    if (args.length === 0 || args[0] === "-h" || args[0] === "--help") {
        return {
            error:
                "usage: keel pulumi <pulumi arguments> (or npm run pulumi -- <pulumi arguments>)\n\n" +
                "Runs the Pulumi CLI on Keel's state backend (.pulumi-state/, or PULUMI_BACKEND_URL) with the dev stack selected\n" +
                "unless --stack is given. Example: npm run pulumi -- stack output databaseUrl --show-secrets",
            code: args.length === 0 ? 2 : 0,
        };
    }
    if (RUNS_THE_PROGRAM.has(args[0])) {
        return {
            error: `error: run 'npm run ${args[0] === "update" ? "up" : args[0] === "pre" ? "preview" : args[0] === "down" ? "destroy" : args[0]} -- <stack>' instead: it runs Keel's program through the engine`,
            code: 2,
        };
    }
    if (args[0] === "stack" && args[1] === "init") {
        // A bare `stack init` encrypts the stack with whatever passphrase this shell has and writes no config.
        return {
            error: "error: run 'npm run stack:new -- <name> --stage <dev|staging|prod>' instead: it writes the stack's file and picks its passphrase",
            code: 2,
        };
    }
    const stack = stackArgument(args) ?? env.PULUMI_STACK ?? "dev";
    const cli = pulumiCliOrBuild(root, env);
    const createStack = args[0] === "config" && fs.existsSync(path.join(root, `Pulumi.${stack}.yaml`)) ? stack : undefined;
    return {
        bin: cli.bin,
        env: { ...env, ...engineEnv(root, stack, cli, env), PULUMI_STACK: stack },
        ...(createStack ? { createStack } : {}),
    };
}

/** Runs the pinned Pulumi CLI with `args` on Keel's backend, its output on this terminal; resolves with its exit code. */
export function runPulumi(
    args: string[],
    io: { root: string; env: Record<string, string | undefined>; out(t: string): void; err(t: string): void },
): number {
    const run = pulumiPassthrough(args, io.root, io.env);
    if ("error" in run) {
        (run.code === 0 ? io.out : io.err)(`${run.error}\n`);
        return run.code;
    }
    if (run.createStack) {
        spawnSync(run.bin, ["stack", "select", "--create", "--non-interactive", run.createStack], {
            cwd: io.root,
            stdio: ["ignore", "ignore", "inherit"],
            env: run.env as NodeJS.ProcessEnv,
        });
    }
    const res = spawnSync(run.bin, args, { cwd: io.root, stdio: "inherit", env: run.env as NodeJS.ProcessEnv });
    return res.status ?? 1;
}
