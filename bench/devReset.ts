/**
 * npm run bench:dev-reset [-- --runs 5]
 *
 * `npm run dev:reset -- --yes` on an existing dev database, as a developer
 * runs it: the dev stack as the repository has it (the local kind: PostgreSQL
 * 16 run by Keel), deployed once through the real engine, so the database
 * holds the sample migrations; then each run drops it, creates it, applies
 * the repository's migrations and runs its seeds. Timed from the
 * command's start to its exit, three ways, to show where the time goes:
 *
 *   npm run dev:reset -- --yes                    npm, the build check, the URL from the stack output, the reset
 *   node dist/cli/main.js dev reset --yes           without npm and the build check
 *   node dist/cli/main.js dev reset --yes --url U   without the engine (the reset alone, and Node's start)
 *
 * Prints min/median/max of each against the target (under 5 s). Exits 0 either way.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { performance } from "perf_hooks";
import { findPulumiCli } from "../scripts/lib/pulumiCli";
import { EngineWorkspace, ROOT } from "../tools/engineWorkspace";
import { median } from "./cli";
import { destroyStack } from "../scripts/lib/stackGuard";

const TARGET_SECONDS = 5;

export interface DevResetBenchOptions {
    /** Resets to time per way. */
    runs: number;
}

/** keel bench dev-reset (cli/bench/devReset.ts). */
export async function benchDevReset({ runs }: DevResetBenchOptions): Promise<void> {
    const cli = findPulumiCli(ROOT);
    if (!cli) throw new Error("no working Pulumi CLI: npm run pulumi:build, or put one on PATH");
    console.log(`bench:dev-reset: pulumi ${cli.version} (${cli.bin}), ${runs} runs each`);
    const ws = EngineWorkspace.create(cli, { PULUMI_CONFIG_PASSPHRASE: "" });
    // Run as root, the server's own user must reach the project's .keel/dev.
    fs.chmodSync(ws.root, 0o755);
    const stack = await ws.stack("dev");
    try {
        const up = await stack.up({});
        const url = String(up.outputs.databaseUrl.value);
        // As a developer's shell has it: no passphrase, no DATABASE_URL, no terminal (hence --yes).
        const env = {
            PATH: `${path.dirname(cli.bin)}${path.delimiter}${process.env.PATH}`,
            PULUMI_BACKEND_URL: ws.env.PULUMI_BACKEND_URL,
            HOME: process.env.HOME,
        } as NodeJS.ProcessEnv;
        const ways: [string, string, string[]][] = [
            ["npm run dev:reset -- --yes", "npm", ["run", "-s", "dev:reset", "--", "--yes"]],
            ["node dist/cli/main.js dev reset --yes", process.execPath, [path.join(ROOT, "dist/cli/main.js"), "dev", "reset", "--yes"]],
            [
                "node dist/cli/main.js dev reset --yes --url <url>",
                process.execPath,
                [path.join(ROOT, "dist/cli/main.js"), "dev", "reset", "--yes", "--url", url],
            ],
        ];
        const results: [string, number[]][] = [];
        for (const [label, exe, args] of ways) {
            const seconds: number[] = [];
            for (let i = 0; i < runs; i++) {
                const started = performance.now();
                const res = spawnSync(exe, args, { cwd: ws.root, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
                const s = (performance.now() - started) / 1000;
                if (res.status !== 0) throw new Error(`${label} failed (exit ${res.status}):\n${res.stdout}\n${res.stderr}`);
                seconds.push(s);
                console.log(`  ${label}: run ${i + 1}: ${s.toFixed(2)} s`);
            }
            results.push([label, seconds]);
        }
        console.log(`\ndev:reset with the repository's sample migrations (2) and seed (1) (target: under ${TARGET_SECONDS} s):`);
        for (const [label, s] of results) {
            const m = median(s);
            console.log(
                `  ${label.padEnd(48)} min ${Math.min(...s).toFixed(2)} s  median ${m.toFixed(2)} s  max ${Math.max(...s).toFixed(2)} s  ${m < TARGET_SECONDS ? "ok" : "OVER TARGET"}`,
            );
        }
    } finally {
        await destroyStack(stack);
    }
}
