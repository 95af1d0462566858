/**
 * npm run bench:rollback [-- --runs 3]
 *
 * Through the real engine, as test/e2e/rollback.test.ts sets it up: a stack of
 * stage staging (rolling Fly rollout of 2 machines behind the health gate, the
 * policy pack) on an existing PostgreSQL and the fake Fly API, deployed twice
 * from two git commits (v1: image 1.0.0; v2: image 1.1.0 and an additive
 * migration). Each run times `npm run rollback -- --to <v> --yes` from the
 * command's start to its exit with the previous version healthy, alternating
 * v1 and v2 as targets (same lockfile, so the packages are reused). Prints
 * min/median/max against the target (under 30 s). Exits 0 either way.
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { performance } from "perf_hooks";
import { findPulumiCli } from "../scripts/lib/pulumiCli";
import { HealthServer } from "../test/support/cloudStack";
import { EngineWorkspace, ROOT } from "../test/support/engine";
import { FakeFly } from "../test/support/fakeFly";
import { PostgresCluster } from "../test/support/postgres";

const TARGET_SECONDS = 30;
const STACK = "bench";

function runsOption(): number {
    const at = process.argv.indexOf("--runs");
    const v = at >= 0 ? Number(process.argv[at + 1]) : 3;
    if (!Number.isInteger(v) || v <= 0) throw new Error("--runs expects a positive integer");
    return v;
}

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
    const runs = runsOption();
    const cli = findPulumiCli(ROOT);
    if (!cli) throw new Error("no working Pulumi CLI: npm run pulumi:build, or put one on PATH");
    console.log(`bench:rollback: pulumi ${cli.version} (${cli.bin}), ${runs} runs`);
    const cluster = await PostgresCluster.start();
    const fly = await FakeFly.start({ token: "fo1_bench" });
    const health = await HealthServer.start();
    try {
        const url = await cluster.createDatabase("bench_rollback");
        const ws = EngineWorkspace.create(cli);
        fs.copyFileSync(path.join(ROOT, "package-lock.json"), path.join(ws.root, "package-lock.json"));
        const git = (...args: string[]) => execFileSync("git", args, { cwd: ws.root, encoding: "utf8" }).trim();
        git("init", "-q", "-b", "main");
        git("config", "user.email", "bench@example.com");
        git("config", "user.name", "Bench");
        const backend = (image: string) => ({
            kind: "fly",
            image,
            healthCheck: { path: "/healthz", url: health.url, timeoutSeconds: 30, intervalSeconds: 1 },
            fly: { app: "shop-bench", region: "iad", count: 2 },
        });
        ws.editStackFile(STACK, (c) => {
            c["keel:stage"] = "staging";
            c["keel:database"] = { kind: "external" };
            c["keel:backend"] = backend("registry.fly.io/shop:1.0.0");
        });
        const stack = await ws.stack(STACK);
        await stack.setConfig("keel:databaseUrl", { value: url, secret: true });
        await stack.setConfig("keel:flyApiToken", { value: fly.token, secret: true });
        await stack.setConfig("keel:flyApiUrl", { value: fly.url });
        const versions: number[] = [];
        for (const [image, migration] of [
            ["registry.fly.io/shop:1.0.0", undefined],
            ["registry.fly.io/shop:1.1.0", "ALTER TABLE accounts ADD COLUMN note text;"],
        ] as const) {
            ws.editStackFile(STACK, (c) => (c["keel:backend"] = backend(image)));
            if (migration) ws.writeMigration("0003_notes.sql", migration);
            git("add", "-A");
            git("commit", "-q", "-m", image);
            await stack.up({});
            versions.push(versions.length + 1);
        }
        console.log(`deployed v1 and v2; rolling back ${runs} times, alternating targets`);
        const env = { ...(ws.env as NodeJS.ProcessEnv), PATH: `${path.dirname(cli.bin)}${path.delimiter}${process.env.PATH}` };
        const seconds: number[] = [];
        for (let i = 0; i < runs; i++) {
            const to = String(versions[i % 2 === 0 ? 0 : 1]);
            const started = performance.now();
            const { status, text } = await new Promise<{ status: number | null; text: string }>((resolve) => {
                const child = spawn(
                    process.execPath,
                    [path.join(ROOT, "dist/scripts/rollback.js"), "--stack", STACK, "--to", to, "--yes"],
                    {
                        cwd: ws.root,
                        env,
                        stdio: ["ignore", "pipe", "pipe"],
                    },
                );
                let out = "";
                child.stdout.on("data", (d) => (out += d));
                child.stderr.on("data", (d) => (out += d));
                child.on("close", (code) => resolve({ status: code, text: out }));
            });
            const s = (performance.now() - started) / 1000;
            if (status !== 0) throw new Error(`rollback --to ${to} failed (exit ${status}):\n${text}`);
            seconds.push(s);
            console.log(`  run ${i + 1}: --to ${to}: ${s.toFixed(1)} s (${/recovered in [\d.]+ s/.exec(text)?.[0] ?? "?"})`);
        }
        const m = median(seconds);
        console.log(
            `rollback, command start to a healthy previous version: min ${Math.min(...seconds).toFixed(1)} s, median ${m.toFixed(1)} s, ` +
                `max ${Math.max(...seconds).toFixed(1)} s; target < ${TARGET_SECONDS} s: ${m < TARGET_SECONDS ? "PASS" : "FAIL"}`,
        );
    } finally {
        await fly.stop();
        await health.stop();
        await cluster.stop();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
