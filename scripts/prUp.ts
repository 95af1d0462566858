/**
 * keel pr up --pr <n> [--from <stack>] [--branch <name>] [--head-repo <owner/name>] [--summary <file>]   (npm run pr:up)
 *
 * Creates or updates the preview of pull request <n>, the stack pr-<n>, from the
 * base stack's settings (staging by default): its file (scripts/lib/previewStackFile.ts),
 * then, before anything is changed, the checks: the base makes previews, the pull
 * request is not from a fork, keel:previews.max and the Neon project's branch limit.
 * A preview whose applied migration the pull request rewrote gets its database made
 * again. Then `up` on the preview (its database, the PR's migrations, its backend and
 * health gate, the Vercel variable and GitHub environment), the seeds when its data
 * is `seed`, and the URLs, printed and (with --summary) written for the PR comment.
 */
import * as fs from "fs";
import * as path from "path";
import { admissionRefusal, NEON_FREE_PLAN_BRANCHES, PreviewRefusedError, rewrittenMigrations } from "../components/previews/admission";
import { databaseName, urlForDatabase } from "../components/backup/pgDump/connection";
import { previewDatabaseName, previewStackName } from "../components/previews/naming";
import { DEFAULT_SEEDS_DIR, loadSeeds, runSeeds, SeedSettings } from "../components/schema/seeds";
import { readHistory } from "../components/schema/history";
import { scanMigrations } from "../components/schema/migrationSet";
import { engineSettings, schemaSettings } from "../components/schema/settings";
import { describeTarget, openClient } from "../components/postgres/connection";
import { findNeonProject } from "../components/database/neon/stackBranch";
import { dbCopy } from "./lib/databaseCopy";
import { keelStack } from "./lib/engine";
import { scriptNeonClient } from "./lib/neonStack";
import { listPreviewStacks, plainOutputs } from "./lib/previewStacks";
import { PreviewBase, readPreviewBase, writePreviewStackFile } from "./lib/previewStackFile";
import { readStackConfig } from "./lib/stackConfig";
import { stackConfigValue, stackDatabaseUrl, stackOutput } from "./lib/stackDatabase";
import { UsageError } from "./lib/usageError";
import { runStackCommand, StackIo } from "./stack";
import { currentGitBranch } from "./lib/git";
import { previewEnv, PrIo } from "./lib/previewIo";
import { previewSummary } from "./lib/previewSummary";

export interface PrUpOptions {
    pr: number;
    /** The base stack (default staging). */
    from?: string;
    /** The pull request's head branch (default GITHUB_HEAD_REF, else the checkout's branch). */
    branch?: string;
    /** The pull request's head repository, owner/name (a fork's differs from the base's). */
    headRepo?: string;
    /** Where to write the preview's summary (JSON), for `keel pr comment`. */
    summary?: string;
    /** The time of this run (tests); the preview expires keel:previews.ttlDays after it. */
    now?: Date;
}

export async function prUp(o: PrUpOptions, io: PrIo): Promise<number> {
    const baseName = o.from ?? "staging";
    const base = readPreviewBase(io.root, baseName, io.env);
    const env = previewEnv(base, io.env);
    const branch = o.branch ?? io.env.GITHUB_HEAD_REF ?? currentGitBranch(io.root);
    if (!branch) throw new UsageError("--branch <name> is required here: the pull request's head branch (GITHUB_HEAD_REF in Actions)");
    const stack = previewStackName(o.pr);
    const engine = { root: io.root, stack: base.stack, env };

    io.out(`keel: preview of pull request #${o.pr} (${stack}) from ${base.stack}, branch ${branch}`);
    const previews = await listPreviewStacks(engine);
    const exists = previews.some((p) => p.pr === o.pr);
    const refusal = admissionRefusal({
        pr: o.pr,
        max: base.previews.max,
        open: previews.map((p) => p.pr),
        ...(base.config.database.kind === "neon" ? { neon: await neonBranches(base, io) } : {}),
        ...(o.headRepo ? { headRepository: o.headRepo } : {}),
        ...repositoryOf(base, io.env),
    });
    if (refusal) throw new PreviewRefusedError(refusal);

    const now = o.now ?? new Date();
    const earlier = exists ? await plainOutputs({ root: io.root, stack, env }) : {};
    const createdAt = (earlier.preview as { createdAt?: string } | undefined)?.createdAt;
    writePreviewStackFile(io.root, base, { pr: o.pr, branch, now, ...(createdAt ? { createdAt } : {}) });
    const config = readStackConfig(io.root, stack, env);
    const preview = config.preview!;
    const stackIo: StackIo = {
        root: io.root,
        env,
        out: io.out,
        err: io.err,
        confirm: async () => true,
        ...(io.signal ? { signal: io.signal } : {}),
    };

    // A migration the preview applied and the pull request rewrote: its database is made again from the start.
    let recreated: string[] = [];
    if (exists) {
        recreated = await rewrittenSinceApplied(io.root, stack, env, config.migrations);
        if (recreated.length) {
            io.out(
                `keel: ${recreated.join(", ")} changed since the preview applied ${recreated.length === 1 ? "it" : "them"}: removing the preview and making it again from the start, its database with it`,
            );
            await runStackCommand("destroy", { stack, yes: true, message: `pr #${o.pr}: migrations rewritten` }, stackIo);
        }
    }
    const fresh = !exists || recreated.length > 0;
    if (fresh && preview.data === "masked" && config.database.kind === "external") await maskedCopy(base, stack, o.pr, env, io);

    await keelStack({ root: io.root, stack, env });
    await runStackCommand("up", { stack, yes: true, message: `pr #${o.pr} (${branch})` }, stackIo);

    if (fresh && preview.data === "seed") await seed(io, stack, env, config.migrations);

    const outputs = await plainOutputs({ root: io.root, stack, env });
    const summary = await previewSummary({ root: io.root, env, config, recreated, outputs, now });
    io.out(`keel: the preview of #${o.pr} is up (${stack}), until ${preview.expiresAt}`);
    if (summary.urls.backend) io.out(`  backend:  ${summary.urls.backend}`);
    const v = summary.urls.frontendVariable;
    if (v) io.out(`  frontend: ${v.project}'s preview deployments of ${v.gitBranch} get ${v.key}=${summary.urls.backend}`);
    io.out(`  database: ${summary.database.name} (${preview.data})`);
    if (summary.migrations.length) io.out(`  migrations this pull request adds: ${summary.migrations.map((m) => m.file).join(", ")}`);
    for (const f of summary.lint.filter((x) => x.level !== "ok")) io.out(`  ${f.level}: ${f.message}${f.fix ? ` (fix: ${f.fix})` : ""}`);
    if (o.summary) {
        fs.mkdirSync(path.dirname(path.resolve(io.root, o.summary)), { recursive: true });
        fs.writeFileSync(path.resolve(io.root, o.summary), JSON.stringify(summary, null, 2) + "\n");
    }
    return 0;
}

/** owner/name of the base's repository: keel:github, else GITHUB_REPOSITORY. */
function repositoryOf(base: PreviewBase, env: Record<string, string | undefined>): { repository?: string } {
    const g = base.config.github;
    const repository = g ? `${g.owner}/${g.repository}` : env.GITHUB_REPOSITORY;
    return repository ? { repository } : {};
}

/** Every branch of the base's Neon project, and how many its plan allows. */
async function neonBranches(base: PreviewBase, io: PrIo): Promise<{ branches: string[]; limit: number }> {
    const c = base.config.database;
    if (c.kind !== "neon") return { branches: [], limit: NEON_FREE_PLAN_BRANCHES };
    const api = scriptNeonClient(base.stack, io.env);
    const projectId = await findNeonProject(api, c);
    const { data } = await api.listProjectBranches({ projectId });
    return { branches: data.branches.map((b) => b.name), limit: base.previews.neonBranchLimit };
}

/** The files whose applied version the preview ran with other contents. */
async function rewrittenSinceApplied(
    root: string,
    stack: string,
    env: Record<string, string | undefined>,
    migrations: ReturnType<typeof readStackConfig>["migrations"],
): Promise<string[]> {
    let url: string;
    try {
        url = await stackDatabaseUrl({ root, stack, env });
    } catch {
        return []; // never deployed: nothing applied
    }
    const { dir, settings } = schemaSettings(migrations);
    // Named as the project has them (migrations/0003_x.sql), for the output and the PR comment.
    const files = scanMigrations(path.resolve(root, dir)).map((f) => ({ ...f, path: path.join(dir, f.file) }));
    const client = await openClient(url);
    try {
        const applied = await readHistory(client, engineSettings(settings, stack));
        return rewrittenMigrations(applied, files);
    } finally {
        await client.end();
    }
}

/** An external preview's first data: a masked copy of the base's database into `<db>_pr_<n>`, before the PR's migrations run. */
async function maskedCopy(base: PreviewBase, stack: string, pr: number, env: Record<string, string | undefined>, io: PrIo): Promise<void> {
    const baseUrl = (await stackConfigValue({ root: io.root, stack: base.stack, env }, "keel:databaseUrl")) ?? env.DATABASE_URL;
    if (!baseUrl) throw new PreviewRefusedError(`the ${base.stack} stack has no keel:databaseUrl to copy from`);
    const target = urlForDatabase(baseUrl, previewDatabaseName(databaseName(baseUrl), pr));
    io.out(`keel: copying ${base.stack}'s data, masked, into ${describeTarget(target)}`);
    await keelStack({ root: io.root, stack, env });
    await dbCopy(
        { from: base.stack, to: stack, masked: true, yes: true },
        {
            root: io.root,
            env,
            out: io.out,
            confirm: async () => true,
            databaseOf: async (s) => (s === stack ? target : stackDatabaseUrl({ root: io.root, stack: s, env })),
        },
    );
}

async function seed(io: PrIo, stack: string, env: Record<string, string | undefined>, migrations: SeedSettings): Promise<void> {
    const seeds = await loadSeeds(path.resolve(io.root, DEFAULT_SEEDS_DIR), DEFAULT_SEEDS_DIR);
    if (!seeds.length) {
        io.out(`keel: keel:previews.data is seed, and ${DEFAULT_SEEDS_DIR}/ has no seeds: the preview's database is empty`);
        return;
    }
    const url = await stackOutput({ root: io.root, stack, env }, "databaseUrl");
    const { ran } = await runSeeds(url, seeds, migrations, io.out);
    io.out(`keel: ${ran.length} seed${ran.length === 1 ? "" : "s"} applied to the preview's database`);
}
