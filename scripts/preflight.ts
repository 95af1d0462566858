/**
 * preflight — what a deploy checks before `pulumi up`, all at once, so it fails
 * fast with every reason instead of halfway (the GitHub deploy workflow runs it):
 *
 *   npm run preflight [-- --stack <s>] [--url <postgres-url>] [--json] [--offline] [--branch <b>]
 *
 * 1. the stack's config validates, deploy tokens included (FLY_API_TOKEN, VERCEL_API_TOKEN, NEON_API_KEY, …);
 * 2. every migration file loads and parses; on staging/prod a destructive one carries `-- keel:allow-destructive`;
 * 3. the database's migration history matches the files: the stack's own database (its output databaseUrl,
 *    through the engine; --url for another; scripts/lib/stackDatabase.ts), skipped when the stack has none yet;
 * 4. the working tree is clean and, with --branch or in GitHub Actions (GITHUB_REF_NAME), the branch is the stack's;
 * 5. staging/prod take a backup before migrating (keel:migrations.backup);
 * 6. prod's backend has >= 2 machines/instances and a rolling or blue-green rollout.
 *
 * Exit 0 when nothing is ✗, 1 otherwise, 2 on a usage error. Secret values are never printed.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { KeelConfig, parseJsonValue, parseKeelConfig, RawConfig, Stage, valueAt } from "../components/config";
import { stageOf } from "../components/config/stage";
import { ConfigError, KeelError, MigrationFileError } from "../components/errors";
import {
    allowedBranches,
    checkBackups,
    checkConfig,
    checkMasking,
    checkDatabase,
    checkGit,
    checkMigrationFiles,
    checkProdBackend,
    CheckResult,
    ConfigOutcome,
    DatabaseInput,
    formatReport,
    GitInput,
    LintedFile,
    lintedFile,
    MaskingInput,
    maskSecrets,
    preflightReport,
    PreflightReport,
    SECRET_ENV,
    skippedCheck,
} from "../components/preflight/index";
import { MASKING_RULES_FILE, MaskingRulesError, maskingCoverage } from "../components/masking";
import { columnsOfSources } from "../components/masking/migrationColumns";
import { describeTarget, openClient } from "../components/postgres/connection";
import {
    MIGRATION_FILE_PATTERN,
    MigrationSource,
    migrationSource,
    parseMigration,
    scanMigrations,
} from "../components/schema/migrationSet";
import { HistoryRow } from "../components/schema/plan";
import { DEFAULT_ENGINE_SETTINGS, readHistory } from "../components/schema/runner";
import { engineSettings, schemaSettings } from "../components/schema/settings";
import { UsageError } from "./lib/usageError";
import type { PulumiCli } from "./lib/pulumiCli";
import { rawStackConfig } from "./lib/stackConfig";
import { stackDatabase } from "./lib/stackDatabase";

export interface PreflightIo {
    /** The project's root: stack files, migrations, the git work tree. */
    root: string;
    env: Record<string, string | undefined>;
    out(line: string): void;
    /** The engine's CLI, for the stack's outputs (default: the one engine.ts finds). */
    cli?: PulumiCli;
    /** Runs git in the root; throws when git fails (default: execFileSync). */
    git?: (args: string[]) => string;
}

export interface PreflightArgs {
    stack?: string;
    /** --url: the database whose history is checked (default: the stack's own). */
    url?: string;
    branch?: string;
    json: boolean;
    offline: boolean;
}

function defaultGit(root: string): (args: string[]) => string {
    return (args) => execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** The directory as the messages show it: relative to where the command runs when that is shorter. */
function displayDir(root: string, dir: string): string {
    const abs = path.resolve(root, dir);
    const rel = path.relative(process.cwd(), abs);
    return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : abs;
}

/** The lines of a MigrationFileError's problem report, or its message whole. */
function problemLines(err: unknown): string[] {
    const message = err instanceof Error ? err.message : String(err);
    const items = message
        .split("\n")
        .filter((l) => l.startsWith("  - "))
        .map((l) => l.slice(4));
    return items.length ? items : [message];
}

interface LoadedMigrations {
    /** Every file, when the directory scanned cleanly (the history check needs all of them). */
    sources?: MigrationSource[];
    files: LintedFile[];
    problems: string[];
}

/** Reads and parses every file, one at a time, so one bad file does not hide the others' problems. */
async function loadForPreflight(dir: string): Promise<LoadedMigrations> {
    const problems: string[] = [];
    let sources: MigrationSource[] | undefined;
    let candidates: MigrationSource[] = [];
    try {
        sources = scanMigrations(dir);
        candidates = sources;
    } catch (err) {
        if (!(err instanceof MigrationFileError)) throw err;
        problems.push(...problemLines(err));
        // The files that are fine still get parsed and linted.
        for (const name of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
            if (!MIGRATION_FILE_PATTERN.test(name)) continue;
            try {
                candidates.push(migrationSource(name, fs.readFileSync(path.join(dir, name)), path.join(dir, name)));
            } catch {
                // already among the problems
            }
        }
    }
    const files: LintedFile[] = [];
    for (const source of candidates) {
        try {
            files.push(lintedFile(await parseMigration(source)));
        } catch (err: any) {
            problems.push(err instanceof MigrationFileError ? err.message : `${source.path}: ${err?.message ?? err}`);
        }
    }
    return { sources, files, problems };
}

async function databaseInput(
    args: PreflightArgs,
    io: PreflightIo,
    config: KeelConfig | undefined,
    loaded: LoadedMigrations,
): Promise<{ input: DatabaseInput; history?: HistoryRow[] }> {
    const skipped = (reason: string) => ({ input: { kind: "skipped", reason } as DatabaseInput });
    if (args.offline) return skipped("--offline");
    if (!config) return skipped("the config does not validate, so the history's settings are unknown");
    const stack = config.stack;
    let url: string;
    try {
        const o = { root: io.root, stack, env: io.env, database: config.database, ...(io.cli ? { cli: io.cli } : {}) };
        url = (await stackDatabase(args.url !== undefined ? { ...o, url: args.url } : o)).url;
    } catch (err) {
        // Not deployed yet, or its state not readable from this shell: the deploy's own plan compares the history.
        if (err instanceof KeelError) return skipped(err.message.replace(/\.$/, ""));
        throw err;
    }
    if (!loaded.sources) return skipped("the migrations directory has problems (above), so the files to compare are not all known");
    const target = describeTarget(url);
    const settings = engineSettings(schemaSettings(config.migrations).settings, DEFAULT_ENGINE_SETTINGS.appliedBy);
    let history: HistoryRow[];
    try {
        const client = await openClient(url, { applicationName: "keel-preflight" });
        try {
            history = await readHistory(client, settings);
        } finally {
            await client.end().catch(() => undefined);
        }
    } catch (err: any) {
        return { input: { kind: "unreachable", target, error: err?.message ?? String(err) } };
    }
    const { allowMissing, outOfOrder, baseline } = config.migrations;
    return {
        input: { kind: "read", stack, target, files: loaded.sources, history, options: { allowMissing, outOfOrder, baseline } },
        history,
    };
}

/** The masking check's facts: the rules file (opt-in: absent means not in use) against the migrations' columns. */
async function maskingInput(io: PreflightIo, dir: string, loaded: LoadedMigrations): Promise<MaskingInput> {
    let text: string;
    try {
        text = fs.readFileSync(path.resolve(io.root, MASKING_RULES_FILE), "utf8");
    } catch (err: any) {
        if (err.code === "ENOENT") return { kind: "absent", rulesFile: MASKING_RULES_FILE };
        throw err;
    }
    if (!loaded.sources || loaded.problems.length)
        return { kind: "skipped", reason: "the migration files have problems (see migration files), so their columns are not all known" };
    const found = await columnsOfSources(loaded.sources, dir);
    try {
        return { kind: "checked", coverage: maskingCoverage(found, text, MASKING_RULES_FILE), migrations: `${dir}/` };
    } catch (err) {
        if (err instanceof MaskingRulesError) return { kind: "invalid", rulesFile: MASKING_RULES_FILE, message: err.message };
        throw err;
    }
}

function gitInput(args: PreflightArgs, io: PreflightIo, stack: string, config: KeelConfig | undefined): GitInput {
    const git = io.git ?? defaultGit(io.root);
    const input: GitInput = { branchSource: "none", allowed: config ? allowedBranches(config) : [], stack };
    try {
        input.porcelain = git(["status", "--porcelain"]);
    } catch (err: any) {
        input.gitError = String(err?.stderr || err?.message || err)
            .trim()
            .split("\n")[0];
    }
    if (args.branch) Object.assign(input, { branch: args.branch, branchSource: "--branch" });
    else if (io.env.GITHUB_REF_NAME) Object.assign(input, { branch: io.env.GITHUB_REF_NAME, branchSource: "GITHUB_REF_NAME" });
    else {
        try {
            const head = git(["rev-parse", "--abbrev-ref", "HEAD"]).trim();
            if (head && head !== "HEAD") Object.assign(input, { branch: head, branchSource: "git" });
        } catch {
            // no commits yet, or not a work tree: the status above says so
        }
    }
    return input;
}

/** Runs every check and returns the report (nothing printed). */
export async function preflight(args: PreflightArgs & { stack: string }, io: PreflightIo): Promise<PreflightReport> {
    const { stack } = args;
    let raw: RawConfig | undefined;
    let config: KeelConfig | undefined;
    let outcome: ConfigOutcome;
    try {
        raw = rawStackConfig(io.root, stack, io.env);
        config = parseKeelConfig({ ...raw, deployCredentials: true });
        outcome = { ok: true };
    } catch (err: any) {
        outcome = err instanceof ConfigError ? { ok: false, problems: err.problems } : { ok: false, error: err?.message ?? String(err) };
        // Missing tokens alone leave the rest of the config usable for the other checks.
        // (Some keys, like Neon's, are checked whatever deployCredentials says: stand-ins let the rest parse; they are reported above.)
        if (raw) {
            const standIns = Object.fromEntries(
                SECRET_ENV.filter((k) => k !== "DATABASE_URL" && !raw!.env[k]).map((k) => [k, "(reported above)"]),
            );
            config = tryParse({ ...raw, env: { ...raw.env, ...standIns }, deployCredentials: false });
        }
    }
    // Without a valid config: the stage the stack's name gives (stage.ts), else the strictest, as the policy pack judges it.
    const stage: Stage = config?.stage ?? stageOf(stack, raw?.values["keel:stage"]) ?? "prod";
    const rawDir = raw && valueAt(parseJsonValue(raw.values["keel:migrations"] ?? "{}"), ["dir"]);
    const dir = displayDir(io.root, config?.migrations.dir ?? (typeof rawDir === "string" && rawDir ? rawDir : "migrations"));

    const loaded = await loadForPreflight(dir);
    const { input: dbInput, history } = await databaseInput(args, io, config, loaded);
    const applied = history && new Set(history.filter((h) => h.status === "applied" || h.status === "baseline").map((h) => h.version));

    const invalid = "the config does not validate (see config)";
    const checks: CheckResult[] = [
        checkConfig(stack, outcome),
        checkMigrationFiles({ stage, dir, files: loaded.files, problems: loaded.problems, ...(applied ? { applied } : {}) }),
        checkDatabase(dbInput),
        checkGit(gitInput(args, io, stack, config)),
        config ? checkBackups(stack, config.stage, config.migrations.backup) : skippedCheck("backups", "backups", invalid),
        config ? checkProdBackend(stack, config.stage, config.backend) : skippedCheck("backend", "prod backend", invalid),
        checkMasking(await maskingInput(io, dir, loaded)),
    ];
    return preflightReport(stack, checks);
}

function tryParse(raw: RawConfig): KeelConfig | undefined {
    try {
        return parseKeelConfig(raw);
    } catch {
        return undefined;
    }
}

/** Runs preflight and prints the report, secrets masked: 0 when nothing fails, 1 otherwise. */
export async function runPreflight(args: PreflightArgs & { stack: string }, io: PreflightIo): Promise<number> {
    if (args.branch === "") throw new UsageError("--branch needs a value <branch>");
    const secrets = [...SECRET_ENV.map((k) => io.env[k]), args.url];
    const out = (text: string) => io.out(maskSecrets(text, secrets));
    const report = await preflight(args, io);
    if (args.json) out(JSON.stringify(report, null, 2));
    else for (const line of formatReport(report)) out(line);
    return report.ok ? 0 : 1;
}
