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
import { performance } from "perf_hooks";
import { findPulumiCli } from "../scripts/lib/pulumiCli";
import { HealthServer } from "../test/support/cloudStack";
import { ROOT } from "../test/support/engine";
import { FakeFly } from "../test/support/fakeFly";
import { PostgresCluster } from "../test/support/postgres";
import { RollbackWorkspace } from "../test/support/rollbackWorkspace";
import type { CommandSpec, ParsedCommandLine } from "../scripts/lib/cli";
import { median, positiveOption, runBench } from "./cli";

const TARGET_SECONDS = 30;
const STACK = "bench";

const SPEC: CommandSpec = {
    usage: "npm run bench:rollback -- [--runs <n>]",
    summary:
        "Times npm run rollback -- --to <v> --yes through the real engine (fake Fly API, real PostgreSQL), from the command's start " +
        "to the previous version healthy; min/median/max against the target (under 30 s).",
    options: [{ name: "runs", value: "<n>", help: "rollbacks to time, alternating the two versions (default 3)" }],
};

async function main(args: ParsedCommandLine): Promise<void> {
    const runs = positiveOption(args, "runs", 3);
    const cli = findPulumiCli(ROOT);
    if (!cli) throw new Error("no working Pulumi CLI: npm run pulumi:build, or put one on PATH");
    console.log(`bench:rollback: pulumi ${cli.version} (${cli.bin}), ${runs} runs`);
    const cluster = await PostgresCluster.start();
    const fly = await FakeFly.start({ token: "fo1_bench" });
    const health = await HealthServer.start();
    try {
        const url = await cluster.createDatabase("bench_rollback");
        const backend = (image: string) => ({
            kind: "fly",
            image,
            healthCheck: { path: "/healthz", url: health.url, timeoutSeconds: 30, intervalSeconds: 1 },
            fly: { app: "shop-bench", region: "iad", count: 2 },
        });
        const rw = await RollbackWorkspace.create(
            cli,
            STACK,
            (c) => {
                c["keel:stage"] = "staging";
                c["keel:database"] = { kind: "external" };
                c["keel:backend"] = backend("registry.fly.io/shop:1.0.0");
            },
            {
                "keel:databaseUrl": { value: url, secret: true },
                "keel:flyApiToken": { value: fly.token, secret: true },
                "keel:flyApiUrl": { value: fly.url },
            },
        );
        await rw.deploy("v1");
        rw.edit((c) => (c["keel:backend"] = backend("registry.fly.io/shop:1.1.0")));
        rw.ws.writeMigration("0003_notes.sql", "ALTER TABLE accounts ADD COLUMN note text;");
        await rw.deploy("v2");
        console.log(`deployed v1 and v2; rolling back ${runs} times, alternating targets`);
        const seconds: number[] = [];
        for (let i = 0; i < runs; i++) {
            const to = i % 2 === 0 ? "1" : "2";
            const started = performance.now();
            const { status, text } = await rw.rollback("--to", to, "--yes");
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

runBench(SPEC, main);
