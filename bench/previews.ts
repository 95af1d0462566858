/**
 * npm run bench:previews [-- --runs 3]
 *
 * Through the real engine, as test/e2e/previewsCloud.test.ts sets it up: the
 * repository's staging stack file (a Neon branch of prod's project, a Fly
 * backend, a Vercel frontend and GitHub gates) with keel:previews on, against
 * local fakes of Neon (every endpoint a PostgreSQL cluster of the bench's
 * own, as in the e2e tests: the preview's database is made empty before each
 * run, so each `pr up` migrates from nothing), Fly, Vercel and GitHub, and a
 * health server. Each run times `keel pr up --pr <n>` of a new preview (a Neon child
 * branch migrated, a Fly app with one machine behind the health gate, the
 * Vercel variable, the GitHub environment) and then `keel pr down --pr <n>`,
 * each from the command's start to its exit. Prints min/median/max per step
 * against the targets (up under 60 s, down under 30 s). Exits 0 either way.
 */
import { performance } from "perf_hooks";
import { parse } from "yaml";
import * as fs from "fs";
import * as path from "path";
import { neonClient, waitForOperations } from "../components/vendors/neon";
import { findPulumiCli } from "../scripts/lib/pulumiCli";
import { EngineWorkspace } from "../tools/engineWorkspace";
import { FakeFly } from "../tools/fakeFly";
import { FakeGithub } from "../tools/fakeGithub";
import { FakeNeon } from "../tools/fakeNeon";
import { FakeVercel } from "../tools/fakeVercel";
import { HealthServer } from "../tools/healthServer";
import { PostgresCluster } from "../tools/postgres";
import { ROOT } from "../tools/repoRoot";
import { median } from "./cli";

const UP_TARGET_SECONDS = 60;
const DOWN_TARGET_SECONDS = 30;
const PASSPHRASE = "bench-passphrase";
const DATABASE = "bench_previews";

export interface PreviewsBenchOptions {
    /** Previews to make and remove. */
    runs: number;
}

/** keel bench previews (cli/bench/previews.ts). */
export async function benchPreviews({ runs }: PreviewsBenchOptions): Promise<void> {
    const cli = findPulumiCli(ROOT);
    if (!cli) throw new Error("no working Pulumi CLI: npm run pulumi:build, or put one on PATH");
    console.log(`bench:previews: pulumi ${cli.version} (${cli.bin}), ${runs} previews made (pr up) and removed (pr down)`);
    const staging = parse(fs.readFileSync(path.join(ROOT, "Pulumi.staging.yaml"), "utf8")).config;
    const prodNeon = parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")).config["keel:database"].neon;
    const neonFile = staging["keel:database"].neon;
    const repo = `${staging["keel:github"].owner}/${staging["keel:github"].repository}`;

    const cluster = await PostgresCluster.start();
    const rolePassword = "npg_bench_password";
    const neon = await FakeNeon.start({ apiKey: "napi_bench", endpointHost: cluster.hostPort, rolePassword });
    const fly = await FakeFly.start({ token: "fo1_bench" });
    const vercel = await FakeVercel.start({ token: "vcp_bench" });
    const github = await FakeGithub.start({ token: "ghs_bench", repos: [repo] });
    const health = await HealthServer.start();
    try {
        vercel.addProject({ name: staging["keel:frontend"].name });
        // Prod's project and staging's branch of it, as their own `up` leaves them.
        const project = neon.seedProject(prodNeon.project.name, {
            region: prodNeon.project.regionId,
            pgVersion: prodNeon.project.pgVersion,
            branchName: neonFile.branch.parent,
            roleName: neonFile.roleName,
            databaseName: neonFile.databaseName,
        });
        const api = neonClient({ apiKey: neon.apiKey, baseUrl: neon.url });
        const { data } = await api.createProjectBranch(project.id, {
            branch: { parent_id: neon.branch(project.id, neonFile.branch.parent)!.id, name: neonFile.branch.name },
        });
        await waitForOperations(api, project.id, data.operations);
        // The role every endpoint logs in as, with the password the fake hands out.
        await cluster.sql("postgres", `CREATE ROLE "${neonFile.roleName}" LOGIN PASSWORD '${rolePassword}'`);
        const emptyDatabase = async () => {
            await cluster.sql("postgres", `DROP DATABASE IF EXISTS "${DATABASE}"`);
            await cluster.sql("postgres", `CREATE DATABASE "${DATABASE}" OWNER "${neonFile.roleName}"`);
        };

        const ws = EngineWorkspace.create(cli, { NODE_EXTRA_CA_CERTS: cluster.caFile, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE });
        ws.editStackFile("staging", (c) => {
            c["keel:database"].neon.databaseName = DATABASE;
            c["keel:backend"].healthCheck = { ...c["keel:backend"].healthCheck, timeoutSeconds: 30, intervalSeconds: 1 };
            c["keel:previews"] = { enabled: true, max: 3, healthCheckUrl: health.url };
        });
        const base = await ws.stack("staging");
        await base.setConfig("keel:neonApiKey", { value: neon.apiKey, secret: true });
        await base.setConfig("keel:neonApiUrl", { value: neon.url });
        await base.setConfig("keel:flyApiToken", { value: fly.token, secret: true });
        await base.setConfig("keel:flyApiUrl", { value: fly.url });
        const env = {
            PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
            NODE_EXTRA_CA_CERTS: cluster.caFile,
            NEON_API_KEY: neon.apiKey,
            NEON_API_URL: neon.url,
            VERCEL_API_TOKEN: vercel.token,
            VERCEL_API_URL: vercel.url,
            GITHUB_TOKEN: github.token,
            GITHUB_API_URL: github.url,
        };
        const timed = async (args: string[]): Promise<number> => {
            const started = performance.now();
            const res = await ws.runKeelAsync(args, env);
            const s = (performance.now() - started) / 1000;
            if (res.status !== 0) throw new Error(`keel ${args.join(" ")} failed (exit ${res.status}):\n${res.stderr}${res.stdout}`);
            return s;
        };

        const up: number[] = [];
        const down: number[] = [];
        for (let i = 0; i < runs; i++) {
            const pr = String(101 + i);
            await emptyDatabase();
            up.push(await timed(["pr", "up", "--pr", pr, "--branch", `feature/bench-${pr}`]));
            down.push(await timed(["pr", "down", "--pr", pr]));
            console.log(`  run ${i + 1} (#${pr}): pr up ${up[i].toFixed(1)} s, pr down ${down[i].toFixed(1)} s`);
        }
        report("pr up of a new preview", up, UP_TARGET_SECONDS);
        report("pr down", down, DOWN_TARGET_SECONDS);
    } finally {
        await Promise.all([neon.stop(), fly.stop(), vercel.stop(), github.stop(), health.stop()]);
        await cluster.stop();
    }
}

function report(step: string, seconds: number[], target: number): void {
    const m = median(seconds);
    console.log(
        `${step}: min ${Math.min(...seconds).toFixed(1)} s, median ${m.toFixed(1)} s, max ${Math.max(...seconds).toFixed(1)} s; ` +
            `target < ${target} s: ${m < target ? "PASS" : "FAIL"}`,
    );
}
