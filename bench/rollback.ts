/**
 * npm run bench:rollback [-- --runs 3] [--backend file|s3] [--list 200]
 *
 * Through the real engine, as test/e2e/rollback.test.ts sets it up: a stack of
 * stage staging (rolling Fly rollout of 2 machines behind the health gate, the
 * policy pack) on an existing PostgreSQL and the fake Fly API, deployed twice
 * from two git commits (v1: image 1.0.0; v2: image 1.1.0 and an additive
 * migration). Each run times `npm run rollback -- --to <v> --yes` from the
 * command's start to its exit with the previous version healthy, alternating
 * v1 and v2 as targets (same lockfile, so the packages are reused). Prints
 * min/median/max against the target (under 30 s). With `--backend s3` the state
 * is on a real S3 server (versitygw, tools/objectStores.ts), as CI keeps it.
 * Then the list: the stack's history grown to `--list` deploys (copies of its
 * real history entries and checkpoints under later times), and
 * `npm run rollback -- --stack bench` timed with no local cache (every object
 * read) and with it; the median against the target (under 3 s). Exits 0 either way.
 */
import * as fs from "fs";
import * as path from "path";
import { performance } from "perf_hooks";
import { openStateStore, parseStateBackend, StoreLocation } from "../scripts/lib/stateStore";
import { ObjectStoreServer, startS3Server } from "../tools/objectStores";
import { findPulumiCli } from "../scripts/lib/pulumiCli";
import { HealthServer } from "../tools/healthServer";
import { ROOT } from "../tools/repoRoot";
import { FakeFly } from "../tools/fakeFly";
import { PostgresCluster } from "../tools/postgres";
import { RollbackWorkspace } from "../tools/rollbackWorkspace";
import { UsageError } from "../scripts/lib/usageError";
import { median } from "./cli";

const TARGET_SECONDS = 30;
const LIST_TARGET_SECONDS = 3;
const STACK = "bench";

export interface RollbackBenchOptions {
    /** Rollbacks to time, alternating the two versions. */
    runs: number;
    /** Deploys in the history the list is timed on. */
    list: number;
    /** Where the state is: file or s3. */
    backend: string;
}

/** keel bench rollback (cli/bench/rollback.ts). */
export async function benchRollback({ runs, list: listed, backend: backendKind }: RollbackBenchOptions): Promise<void> {
    if (backendKind !== "file" && backendKind !== "s3") throw new UsageError(`--backend is file or s3, not '${backendKind}'`);
    const cli = findPulumiCli(ROOT);
    if (!cli) throw new Error("no working Pulumi CLI: npm run pulumi:build, or put one on PATH");
    console.log(
        `bench:rollback: pulumi ${cli.version} (${cli.bin}), ${runs} runs, the state ${backendKind === "s3" ? "on a real S3 server" : "in a local directory"}`,
    );
    let s3: ObjectStoreServer | undefined;
    let stateEnv: Record<string, string> = {};
    if (backendKind === "s3") {
        s3 = await startS3Server();
        await s3.createBucket("keel-bench-state");
        stateEnv = { PULUMI_BACKEND_URL: s3.backendUrl("keel-bench-state"), ...s3.env };
    }
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
            stateEnv,
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
        await benchList(rw, listed, runs);
    } finally {
        await fly.stop();
        await health.stop();
        await cluster.stop();
        await s3?.stop();
    }
}

/** Grows the history to `total` deploys (copies of its real entries under later times), then times the list. */
async function benchList(rw: RollbackWorkspace, total: number, runs: number): Promise<void> {
    const env = rw.ws.env;
    const store = openStateStore(parseStateBackend(env.PULUMI_BACKEND_URL!) as StoreLocation, env);
    const dir = `.pulumi/history/keel/${STACK}/`;
    const objects = await store.list(dir);
    const entries = objects.filter((o) => o.key.endsWith(".history.json"));
    const have = entries.length;
    const last = Number(
        /-(\d+)\.history\.json$/.exec(
            entries
                .map((e) => e.key)
                .sort()
                .at(-1)!,
        )![1],
    );
    const pairs = await Promise.all(
        entries.map(async (e) => ({
            history: (await store.read(e.key))!.toString("utf8"),
            checkpoint: (await store.read(e.key.replace(".history.", ".checkpoint.")))?.toString("utf8"),
        })),
    );
    console.log(`growing the history from ${have} to ${total} deploys (copies of its ${have} real entries and checkpoints)`);
    for (let i = have; i < total; i++) {
        const { history, checkpoint } = pairs[i % pairs.length];
        const name = `${dir}${STACK}-${last + (i - have + 1) * 1000}`;
        await store.createIfAbsent(`${name}.history.json`, history);
        if (checkpoint) await store.createIfAbsent(`${name}.checkpoint.json`, checkpoint);
    }
    const bytes = pairs.reduce((n, p) => n + p.history.length + (p.checkpoint?.length ?? 0), 0) / pairs.length;
    console.log(`  about ${(bytes / 1024).toFixed(0)} KiB per deploy (history entry and checkpoint)`);
    const cache = path.join(rw.ws.root, ".keel", "cache", "deploys");
    const time = async (cold: boolean) => {
        const seconds: number[] = [];
        for (let i = 0; i < runs; i++) {
            if (cold) fs.rmSync(cache, { recursive: true, force: true });
            const started = performance.now();
            const { status, text } = await rw.rollback();
            const s = (performance.now() - started) / 1000;
            if (status !== 0) throw new Error(`the list failed (exit ${status}):\n${text}`);
            const rows = text.split("\n").filter((l) => /^[*> ]\s+\d+\s/.test(l)).length;
            if (rows !== total) throw new Error(`the list shows ${rows} deploys, not ${total}:\n${text}`);
            seconds.push(s);
        }
        const m = median(seconds);
        console.log(
            `list of ${total} deploys, ${cold ? "no local cache (every object read)" : "from the local cache"}: min ${Math.min(...seconds).toFixed(2)} s, ` +
                `median ${m.toFixed(2)} s, max ${Math.max(...seconds).toFixed(2)} s; target < ${LIST_TARGET_SECONDS} s: ${m < LIST_TARGET_SECONDS ? "PASS" : "FAIL"}`,
        );
    };
    await time(true);
    await time(false);
}
