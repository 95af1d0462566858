/**
 * The checks a deploy runs before `pulumi up` (`npm run preflight -- --stack <s>`):
 * config, migration files, migration history, git, backups, prod's backend.
 * Pure: every check is a plain function of its inputs (no Pulumi, no I/O), so
 * scripts/preflight.ts gathers the facts and these decide what they mean.
 */
import type { BackendConfig, FrontendConfig, GithubConfig, Stage } from "../config";
import type { ConfigProblem } from "../errors";
import type { MigrationFile } from "../schema/migrationSet";
import type { MaskingCoverage } from "../masking/coverage";
import { staleFix, staleWhat, unclassifiedFix } from "../masking/exhaustive";
import { HistoryRow, migrationPlan, PlanOptions, PlannedFile } from "../schema/plan";

/** error: the deploy must not start; warning: worth reading; ok / info: facts. */
export type FindingLevel = "ok" | "error" | "warning" | "info";

export interface Finding {
    level: FindingLevel;
    message: string;
    /** The command or edit that fixes it (errors and warnings). */
    fix?: string;
}

export type CheckStatus = "pass" | "fail" | "warn" | "skip";

export interface CheckResult {
    id: "config" | "migrations" | "database" | "git" | "backups" | "backend" | "masking";
    title: string;
    status: CheckStatus;
    findings: Finding[];
}

export interface PreflightReport {
    stack: string;
    ok: boolean;
    /** How many findings are errors. */
    problems: number;
    checks: CheckResult[];
}

function result(id: CheckResult["id"], title: string, findings: Finding[], skipped = false): CheckResult {
    const status: CheckStatus = findings.some((f) => f.level === "error")
        ? "fail"
        : findings.some((f) => f.level === "warning")
          ? "warn"
          : skipped
            ? "skip"
            : "pass";
    return { id, title, status, findings };
}

/** A check that could not run, and why (not a failure by itself). */
export function skippedCheck(id: CheckResult["id"], title: string, reason: string): CheckResult {
    return result(id, title, [{ level: "info", message: `skipped: ${reason}` }], true);
}

export const ALLOW_DESTRUCTIVE = "-- keel:allow-destructive";

/** 1. The stack's config, deploy credentials included: every ConfigError problem, whole. */
export type ConfigOutcome = { ok: true } | { ok: false; problems: ConfigProblem[] } | { ok: false; error: string };

export function checkConfig(stack: string, outcome: ConfigOutcome): CheckResult {
    const title = "config";
    if (outcome.ok)
        return result("config", title, [{ level: "ok", message: `Pulumi.${stack}.yaml validates, deploy credentials included` }]);
    if ("error" in outcome) return result("config", title, [{ level: "error", message: outcome.error }]);
    return result(
        "config",
        title,
        outcome.problems.map((p) => ({ level: "error" as const, message: `${p.key}: ${p.message}`, fix: p.fix })),
    );
}

/** What the migration-files check needs of each file that parsed. */
export interface LintedFile {
    version: string;
    file: string;
    /** The path shown in messages. */
    path: string;
    allowDestructive: boolean;
    destructive: { line: number; what: string }[];
    /** Findings that do not stop the file (an enum value used in the transaction that adds it). */
    warnings?: { line: number; what: string }[];
}

/** A parsed migration file as the check reads it. */
export function lintedFile(f: MigrationFile): LintedFile {
    return {
        version: f.version,
        file: f.file,
        path: f.path,
        allowDestructive: f.directives.allowDestructive,
        destructive: f.destructive,
        warnings: f.warnings,
    };
}

export interface MigrationFilesInput {
    stage: Stage;
    dir: string;
    /** Files that read and parsed. */
    files: LintedFile[];
    /** Every naming, directive, syntax or transaction-mode problem (file:line:col where the parser gave one). */
    problems: string[];
    /** Versions the database already has (when it was read): their destructive statements already ran. */
    applied?: ReadonlySet<string>;
}

/** 2. Every file loads and parses; destructive files carry `-- keel:allow-destructive` (staging/prod: an error, dev: a warning). */
export function checkMigrationFiles(input: MigrationFilesInput): CheckResult {
    const findings: Finding[] = input.problems.map((p) => ({
        level: "error" as const,
        message: p,
        fix: "fix the file (or its name) as the message says; nothing is run while a file does not parse",
    }));
    for (const f of input.files) {
        if (!input.applied?.has(f.version)) {
            for (const w of f.warnings ?? []) {
                findings.push({
                    level: "warning",
                    message: `${f.path}:${w.line}: ${w.what}`,
                    fix: `change ${f.path} as the message says before it is applied`,
                });
            }
        }
        if (!f.destructive.length || f.allowDestructive) continue;
        const what = f.destructive.map((d) => `${f.path}:${d.line}: ${d.what}`).join("; ");
        if (input.applied?.has(f.version)) {
            findings.push({ level: "info", message: `${what} (already applied, so it has run; the file must not change now)` });
            continue;
        }
        findings.push({
            level: input.stage === "dev" ? "warning" : "error",
            message: `${what}: destructive, and the file lacks '${ALLOW_DESTRUCTIVE}'`,
            fix: `add the line '${ALLOW_DESTRUCTIVE}' at the top of ${f.path} once you have a backup and mean it (or make the change non-destructive)`,
        });
    }
    if (!findings.length) {
        findings.push({
            level: "ok",
            message: `${input.files.length} migration file${input.files.length === 1 ? "" : "s"} in ${input.dir} parse; none is destructive without '${ALLOW_DESTRUCTIVE}'`,
        });
    }
    return result("migrations", "migration files", findings);
}

export type DatabaseInput =
    | { kind: "skipped"; reason: string }
    | { kind: "unreachable"; target: string; error: string }
    | { kind: "read"; stack: string; target: string; files: PlannedFile[]; history: HistoryRow[]; options: PlanOptions };

/** The fix for one of migrationPlan's problems (the message explains; this is the command). */
function planFix(problem: string, stack: string): string {
    const version = /^version (\d+)/.exec(problem)?.[1] ?? "<version>";
    if (/recorded as (failed|running)/.test(problem))
        return `inspect the database, then npm run schema:resolve -- ${version} --applied (or --rolled-back once undone)`;
    if (/its file is missing/.test(problem))
        return `restore the file, or npm run pulumi -- config set --path keel:migrations.allowMissing true --stack ${stack} if the code was rolled back on purpose`;
    if (/was edited after it was applied/.test(problem))
        return "restore the file as it was applied (git log -p <file>) and put the change in a new migration";
    if (/older than the newest applied/.test(problem))
        return `give the file a newer version, or npm run pulumi -- config set --path keel:migrations.outOfOrder true --stack ${stack}`;
    return "see the message";
}

/** 3. The migration history against the files (migrationPlan): pending versions; edited, deleted, failed or out-of-order ones are errors. */
export function checkDatabase(input: DatabaseInput): CheckResult {
    const title = "migration history";
    if (input.kind === "skipped") return result("database", title, [{ level: "info", message: `skipped: ${input.reason}` }], true);
    if (input.kind === "unreachable") {
        return result("database", title, [
            {
                level: "error",
                message: `cannot read the history at ${input.target}: ${input.error}`,
                fix: "make the database reachable from here (or pass --offline to skip this check)",
            },
        ]);
    }
    const plan = migrationPlan(input.files, input.history, input.options);
    const findings: Finding[] = plan.problems.map((p) => ({ level: "error" as const, message: p, fix: planFix(p, input.stack) }));
    const newest = plan.applied.map((r) => r.version).at(-1);
    findings.push({
        level: "info",
        message:
            `${input.target}: schema version ${newest ?? "(none)"}, ${plan.applied.length} applied, ` +
            (plan.pending.length ? `pending: ${plan.pending.map((f) => f.version).join(", ")}` : "nothing pending") +
            (plan.baselined.length ? `, to baseline: ${plan.baselined.map((f) => f.version).join(", ")}` : ""),
    });
    return result("database", title, findings);
}

export interface GitInput {
    /** `git status --porcelain` output; undefined with gitError when git could not say. */
    porcelain?: string;
    gitError?: string;
    /** The branch being deployed and where that name came from. */
    branch?: string;
    branchSource: "--branch" | "GITHUB_REF_NAME" | "git" | "none";
    /** Branches the config ties to this stack, with the key that says so. */
    allowed: { branch: string; key: string }[];
    stack: string;
}

/** 4. A clean working tree; with --branch or in GitHub Actions, the branch the config allows for this stack. */
export function checkGit(input: GitInput): CheckResult {
    const findings: Finding[] = [];
    if (input.porcelain === undefined) {
        findings.push({
            level: "error",
            message: `cannot read the working tree: ${input.gitError ?? "git status failed"}`,
            fix: "run the deploy from a git checkout of the repository",
        });
    } else {
        const changed = input.porcelain.split("\n").filter((l) => l.trim() !== "");
        if (changed.length) {
            const shown = changed.slice(0, 20).map((l) => l.trim());
            findings.push({
                level: "error",
                message: `the working tree is not clean (${changed.length} change${changed.length === 1 ? "" : "s"}): ${shown.join(", ")}${changed.length > shown.length ? ", …" : ""}`,
                fix: "commit or stash the changes (git status shows them): a deploy must be the code of a commit",
            });
        } else findings.push({ level: "ok", message: "the working tree is clean" });
    }
    const enforced = input.branchSource === "--branch" || input.branchSource === "GITHUB_REF_NAME";
    if (!input.branch) findings.push({ level: "info", message: "branch: unknown (detached HEAD; pass --branch <b> to check it)" });
    else if (!enforced || !input.allowed.length) {
        findings.push({
            level: "info",
            message:
                `branch ${input.branch} (from ${input.branchSource})` +
                (input.allowed.length ? "" : `; no config names the branch that deploys stack '${input.stack}'`),
        });
    } else {
        const wrong = input.allowed.filter((a) => a.branch !== input.branch);
        if (!wrong.length)
            findings.push({
                level: "ok",
                message: `branch ${input.branch} (from ${input.branchSource}) is the one that deploys stack '${input.stack}'`,
            });
        for (const a of wrong) {
            findings.push({
                level: "error",
                message: `branch ${input.branch} (from ${input.branchSource}) may not deploy stack '${input.stack}': ${a.key} is ${a.branch}`,
                fix: `deploy stack '${input.stack}' from ${a.branch} (merge into it), or change ${a.key}`,
            });
        }
    }
    return result("git", "git", findings);
}

/** The branches the config ties to the stack: keel:github's deploy branch, the Vercel project's production branch, Render's repo branch. */
export function allowedBranches(config: {
    stack?: string;
    frontend?: FrontendConfig;
    backend?: BackendConfig;
    github?: GithubConfig;
}): { branch: string; key: string }[] {
    const out: { branch: string; key: string }[] = [];
    // keel:github.branches.<stack>: the branch that deploys this stack.
    if (config.github?.deploy) out.push({ branch: config.github.deploy.branch, key: `keel:github.branches.${config.stack ?? "<stack>"}` });
    if (config.frontend?.git) out.push({ branch: config.frontend.git.productionBranch, key: "keel:frontend.git.productionBranch" });
    if (config.backend?.kind === "render" && config.backend.render.repo)
        out.push({ branch: config.backend.render.repo.branch, key: "keel:backend.render.repo.branch" });
    return out;
}

/** 5. Staging and prod take a backup before migrating. */
export function checkBackups(stack: string, stage: Stage, backup: boolean): CheckResult {
    if (backup)
        return result("backups", "backups", [
            { level: "ok", message: "keel:migrations.backup is on: pulumi up takes a backup before migrating" },
        ]);
    if (stage === "dev") return result("backups", "backups", [{ level: "info", message: "keel:migrations.backup is off (fine on dev)" }]);
    return result("backups", "backups", [
        {
            level: "error",
            message: `keel:migrations.backup is off on ${stage}: pending migrations would run without a backup to go back to`,
            fix: `npm run pulumi -- config set --path keel:migrations.backup true --stack ${stack}`,
        },
    ]);
}

/** 6. Prod's backend survives a machine going away and a deploy: >= 2 machines/instances, a rolling or blue-green rollout. */
export function checkProdBackend(stack: string, stage: Stage, backend: BackendConfig | undefined): CheckResult {
    const title = "prod backend";
    if (stage !== "prod")
        return result("backend", title, [{ level: "info", message: `skipped: only prod is held to this (stage ${stage})` }], true);
    if (!backend) return result("backend", title, [{ level: "info", message: "the stack runs no backend" }]);
    const findings: Finding[] = [];
    if (backend.kind === "fly") {
        const machines = backend.fly.regions.reduce((n, r) => n + r.count, 0);
        if (machines < 2) {
            findings.push({
                level: "error",
                message: `keel:backend.fly runs ${machines} machine${machines === 1 ? "" : "s"}: one failure or deploy takes prod down`,
                fix: `npm run pulumi -- config set --path 'keel:backend.fly.regions[0].count' 2 --stack ${stack} (or keel:backend.fly.count with fly.region)`,
            });
        } else
            findings.push({
                level: "ok",
                message: `${machines} Fly machines (${backend.fly.regions.map((r) => `${r.region} ×${r.count}`).join(", ")})`,
            });
        if (backend.fly.strategy !== "rolling" && backend.fly.strategy !== "bluegreen") {
            findings.push({
                level: "error",
                message: `keel:backend.fly.strategy is ${backend.fly.strategy}: every machine is replaced at once`,
                fix: `npm run pulumi -- config set --path keel:backend.fly.strategy rolling --stack ${stack} (or bluegreen)`,
            });
        } else findings.push({ level: "ok", message: `rollout strategy ${backend.fly.strategy}` });
    } else {
        const n = backend.render.instances;
        if (n < 2) {
            findings.push({
                level: "error",
                message: `keel:backend.render.instances is ${n}: one failure takes prod down`,
                fix: `npm run pulumi -- config set --path keel:backend.render.instances 2 --stack ${stack}`,
            });
        } else findings.push({ level: "ok", message: `${n} Render instances (Render deploys with zero downtime)` });
    }
    return result("backend", title, findings);
}

export type MaskingInput =
    /** The project has no rules file: masking is not in use yet. */
    | { kind: "absent"; rulesFile: string }
    | { kind: "skipped"; reason: string }
    /** The rules file does not validate (MaskingRulesError's message, every problem). */
    | { kind: "invalid"; rulesFile: string; message: string }
    | { kind: "checked"; coverage: MaskingCoverage; migrations: string };

/**
 * 7. With a masking rules file: every column the migrations leave behind has a rule (an error names the file:line
 * that added it and the line to add) and every rule names a column that exists (an error names the rule's line).
 */
export function checkMasking(input: MaskingInput): CheckResult {
    const title = "masking rules";
    if (input.kind === "absent")
        return skippedCheck(
            "masking",
            title,
            `no ${input.rulesFile}, so copies are not checked for masking; start one with 'keel db mask-init'`,
        );
    if (input.kind === "skipped") return skippedCheck("masking", title, input.reason);
    if (input.kind === "invalid")
        return result("masking", title, [{ level: "error", message: input.message, fix: `fix ${input.rulesFile} as each problem says` }]);
    const { coverage, migrations } = input;
    const { rulesFile } = coverage;
    const findings: Finding[] = [];
    for (const u of coverage.result.unclassified) {
        const where = u.source ? `${u.source.file}:${u.source.line}: ` : "";
        findings.push({
            level: "error",
            message: `${where}column ${u.table}.${u.column} (${u.type}) has no masking rule in ${rulesFile}`,
            fix: `in ${rulesFile}, ${unclassifiedFix(u)}`,
        });
    }
    for (const s of coverage.result.stale) {
        findings.push({
            level: "error",
            message: `${s.file}:${s.line}: the masking rule for ${staleWhat(s)} is stale: no migration in ${migrations} leaves it (dropped or renamed)`,
            fix: `in ${rulesFile}, ${staleFix(s)}`,
        });
    }
    if (!findings.length) {
        findings.push({
            level: "ok",
            message: `${rulesFile} classifies all ${coverage.columns} column${coverage.columns === 1 ? "" : "s"} of ${migrations}; no rule is stale`,
        });
    }
    for (const u of coverage.unknown)
        findings.push({ level: "info", message: `${u.file}:${u.line}: ${u.what} (its columns are not checked)` });
    return result("masking", title, findings);
}

export function preflightReport(stack: string, checks: CheckResult[]): PreflightReport {
    const problems = checks.reduce((n, c) => n + c.findings.filter((f) => f.level === "error").length, 0);
    return { stack, ok: problems === 0, problems, checks };
}

const MARK: Record<FindingLevel, string> = { ok: "✓", error: "✗", warning: "!", info: "·" };

/** The report as lines: ✓/✗ per finding, the fix under each ✗ and warning, a summary last. */
export function formatReport(report: PreflightReport): string[] {
    const lines = [`Preflight for stack '${report.stack}':`];
    for (const check of report.checks) {
        for (const f of check.findings) {
            lines.push(`${MARK[f.level]} ${check.title}: ${f.message}`);
            if (f.fix && (f.level === "error" || f.level === "warning")) lines.push(`    fix: ${f.fix}`);
        }
    }
    lines.push(
        report.ok
            ? `preflight passed: stack '${report.stack}' is ready for pulumi up`
            : `preflight failed: ${report.problems} problem${report.problems === 1 ? "" : "s"} to fix before pulumi up on stack '${report.stack}'`,
    );
    return lines;
}

/**
 * Hides secret values: each of `secrets` (longer than 3 characters) and the
 * password of any URL (`scheme://user:password@`).
 */
export function maskSecrets(text: string, secrets: (string | undefined)[]): string {
    let out = text;
    for (const s of [...secrets].filter((v): v is string => !!v && v.length > 3).sort((a, b) => b.length - a.length))
        out = out.split(s).join("****");
    return out.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]+@/gi, "$1:****@");
}

/** Environment variables whose values are secrets. */
export const SECRET_ENV = [
    "DATABASE_URL",
    "NEON_API_KEY",
    "FLY_API_TOKEN",
    "RENDER_API_KEY",
    "VERCEL_API_TOKEN",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_ACCESS_TOKEN",
    "GITHUB_TOKEN",
    "SLACK_WEBHOOK_URL",
];
