/**
 * The pre-commit hook's checks (`.githooks/pre-commit` runs `keel hooks pre-commit` after
 * `node tools/build.js`; `npm run hooks:install` turns the hook on). Reads what is
 * STAGED, never the working tree: the index's migration files, the lines the
 * commit adds, and (when the index holds db/masking.yaml) the masking rules against
 * the staged migrations' columns. Exits 0 when nothing is wrong (warnings are printed), 1 with each
 * problem (file:line) and how to commit anyway, 2 on a usage error.
 *
 *   sh .githooks/pre-commit          (what git runs; by hand it checks the index the same way)
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { parse } from "yaml";
import { migrationsSchema } from "../components/config/migrations";
import { MASKING_RULES_FILE } from "../components/masking/rules";
import {
    addedLines,
    checkStagedMasking,
    checkStagedMigrations,
    debugLeftovers,
    formatHookReport,
    parseNameStatus,
    secretsIn,
    StackMigrations,
    StagedChange,
} from "../components/precommit/index";
import type { Finding } from "../components/preflight/index";

export interface PreCommitIo {
    /** Where git runs: inside the repository being committed to. */
    cwd: string;
    out(line: string): void;
    /** Runs git and returns its standard output; throws when git fails (default: execFileSync). */
    git?: (args: string[]) => Buffer;
}

function defaultGit(cwd: string): (args: string[]) => Buffer {
    // The environment is passed on as it is: during `git commit -a` or `git commit <paths>`,
    // GIT_INDEX_FILE names the index the commit is made of.
    return (args) => execFileSync("git", args, { cwd, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 30 });
}

const STACK_FILE = /^Pulumi\.([^/]+)\.yaml$/;

/** keel:migrations.dir and .outOfOrder of every stack file in the index (its defaults where a file says nothing or is invalid). */
export function stackMigrations(git: (args: string[]) => Buffer): StackMigrations[] {
    const names = git(["ls-files", "-z", "--", "Pulumi.*.yaml"]).toString("utf8").split("\0");
    const stacks: StackMigrations[] = [];
    for (const name of names) {
        const m = STACK_FILE.exec(name);
        if (!m) continue;
        let raw: unknown;
        try {
            raw = (parse(git(["cat-file", "blob", `:${name}`]).toString("utf8")) ?? {})?.config?.["keel:migrations"];
        } catch {
            raw = undefined; // a stack file that is not YAML is the config check's to report; the defaults stand in
        }
        const parsed = migrationsSchema.safeParse(raw ?? {});
        const rawDir = raw && typeof raw === "object" ? (raw as any).dir : undefined;
        stacks.push({
            stack: m[1],
            dir: normalizeDir(parsed.success ? parsed.data.dir : typeof rawDir === "string" && rawDir ? rawDir : "migrations"),
            outOfOrder: parsed.success ? parsed.data.outOfOrder : false,
        });
    }
    return stacks;
}

/** A configured directory as git names paths: relative to the top, `/`-separated, no `./` or trailing slash. */
export function normalizeDir(dir: string): string {
    const n = path.posix.normalize(dir.replace(/\\/g, "/")).replace(/\/+$/, "");
    return n === "" ? "." : n;
}

function namesIn(git: (args: string[]) => Buffer, args: string[], dir: string): string[] {
    return git(args)
        .toString("utf8")
        .split("\0")
        .filter((p) => p && path.posix.dirname(p) === dir)
        .map((p) => path.posix.basename(p));
}

/** Runs every check on the index; returns the findings and how many staged files there were. */
export async function checkIndex(io: PreCommitIo): Promise<{ findings: Finding[]; files: number }> {
    const git = io.git ?? defaultGit(io.cwd);
    const top = git(["rev-parse", "--show-toplevel"]).toString("utf8").trim();
    const inTop = io.git ?? defaultGit(top);
    const diff = ["-c", "core.quotePath=false", "diff", "--cached", "--no-color", "--no-ext-diff", "--no-textconv", "-M"];
    const changes: StagedChange[] = parseNameStatus(inTop([...diff, "--name-status", "-z"]).toString("utf8"));
    if (!changes.length) return { findings: [], files: 0 };
    const patch = inTop([...diff, "-U0", "--src-prefix=a/", "--dst-prefix=b/", "--diff-filter=ACMRT"]).toString("utf8");

    const findings: Finding[] = [];
    for (const [file, lines] of addedLines(patch)) findings.push(...debugLeftovers(file, lines), ...secretsIn(file, lines));

    const stacks = stackMigrations(inTop);
    const dirs = stacks.length ? [...new Set(stacks.map((s) => s.dir))] : ["migrations"];
    let hasHead: boolean | undefined;
    // Masking is opt-in by the file: checked when the index holds the rules and the commit touches them or a migration.
    const hasRules = inTop(["ls-files", "-z", "--", MASKING_RULES_FILE]).toString("utf8").split("\0").includes(MASKING_RULES_FILE);
    const rulesChanged = changes.some((c) => c.path === MASKING_RULES_FILE || c.from === MASKING_RULES_FILE);
    for (const dir of dirs) {
        const inDir = (p: string | undefined) => p !== undefined && path.posix.dirname(p) === dir;
        const migrationsChanged = changes.some((c) => inDir(c.path) || inDir(c.from));
        if (hasRules && (migrationsChanged || rulesChanged)) {
            findings.push(
                ...(await checkStagedMasking({
                    dir,
                    rulesFile: MASKING_RULES_FILE,
                    indexNames: namesIn(inTop, ["ls-files", "-z", "--", `${dir}/`], dir),
                    read: (p) => inTop(["cat-file", "blob", `:${p}`]),
                })),
            );
        }
        if (!migrationsChanged) continue;
        if (hasHead === undefined) {
            try {
                inTop(["rev-parse", "-q", "--verify", "HEAD^{commit}"]);
                hasHead = true;
            } catch {
                hasHead = false; // the first commit
            }
        }
        findings.push(
            ...(await checkStagedMigrations({
                dir,
                changes,
                indexNames: namesIn(inTop, ["ls-files", "-z", "--", `${dir}/`], dir),
                headNames: hasHead ? namesIn(inTop, ["ls-tree", "-z", "--name-only", "HEAD", "--", `${dir}/`], dir) : undefined,
                stacks: stacks.filter((s) => s.dir === dir),
                read: (p) => inTop(["cat-file", "blob", `:${p}`]),
            })),
        );
    }
    return { findings, files: changes.filter((c) => c.status !== "D").length };
}

export async function main(io: PreCommitIo): Promise<number> {
    const { findings, files } = await checkIndex(io);
    if (!files && !findings.length) return 0;
    for (const line of formatHookReport(findings, files)) io.out(line);
    return findings.some((f) => f.level === "error") ? 1 : 0;
}
