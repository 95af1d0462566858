/**
 * keel db mask-check and keel db mask-init: the masking rules file against the
 * columns the migration files leave behind (components/masking). Reads the
 * migrations and the rules file; mask-init writes the rules file. No database.
 */
import { stacksIn } from "../components/config";
import { readStackConfig } from "./lib/stackConfig";
import * as fs from "fs";
import * as path from "path";
import { KeelError } from "../components/errors";
import { describeExhaustiveness, isCovered, MASKING_RULES_FILE, maskingCoverage, renderRulesFile } from "../components/masking";
import { loadMigrationColumns, MigrationColumns } from "../components/masking/migrationColumns";

export interface MaskOptions {
    /** The rules file, relative to the root (default db/masking.yaml). */
    rules?: string;
    /** The migrations directory, relative to the root (default migrations). */
    migrations?: string;
}

export interface MaskIo {
    root: string;
    out: (line: string) => void;
}

function unknownReport(found: MigrationColumns): string[] {
    if (found.unknown.length === 0) return [];
    return [
        `${found.unknown.length} statement${found.unknown.length === 1 ? "" : "s"} whose columns the migration files cannot tell (not checked here):`,
        ...found.unknown.map((u) => `  - ${u.file}:${u.line}: ${u.what}`),
    ];
}

/**
 * The migrations directory the stacks use (`keel:migrations.dir`, the same for every stack of a project: the dev
 * stack's file says it), else `migrations`.
 */
export function projectMigrationsDir(root: string): string {
    for (const stack of ["dev", ...stacksIn(root)]) {
        try {
            return readStackConfig(root, stack, {}).migrations.dir;
        } catch {
            // A stack file that does not parse is the next command's to report: try the next one.
        }
    }
    return "migrations";
}

/** keel db mask-check: 0 when every column has a rule and no rule is stale, 1 otherwise. */
export async function maskCheck(o: MaskOptions, io: MaskIo): Promise<number> {
    const rulesFile = o.rules ?? MASKING_RULES_FILE;
    const migrations = o.migrations ?? projectMigrationsDir(io.root);
    const found = await loadMigrationColumns(path.resolve(io.root, migrations), migrations);
    let text: string;
    try {
        text = fs.readFileSync(path.resolve(io.root, rulesFile), "utf8");
    } catch (err: any) {
        if (err.code !== "ENOENT") throw err;
        throw new KeelError(
            `The masking rules file ${rulesFile} does not exist, so ${found.columns.length} column${found.columns.length === 1 ? "" : "s"} of ${migrations}/ have no rule. ` +
                `Fix: write it from the migrations with 'keel db mask-init${o.rules ? ` --rules ${rulesFile}` : ""}', then review every line marked '# review'.`,
        );
    }
    const coverage = maskingCoverage(found, text, rulesFile);
    const notes = unknownReport(found);
    if (isCovered(coverage)) {
        io.out(
            `${rulesFile} classifies all ${found.columns.length} column${found.columns.length === 1 ? "" : "s"} of ${migrations}/; no rule is stale.`,
        );
        for (const l of notes) io.out(l);
        return 0;
    }
    io.out(describeExhaustiveness(coverage.result, rulesFile));
    for (const l of notes) io.out(l);
    return 1;
}

/** keel db mask-init: writes the rules file from the migrations' columns, guesses marked `# review`. */
export async function maskInit(o: MaskOptions & { force?: boolean }, io: MaskIo): Promise<number> {
    const rulesFile = o.rules ?? MASKING_RULES_FILE;
    const migrations = o.migrations ?? projectMigrationsDir(io.root);
    const target = path.resolve(io.root, rulesFile);
    if (fs.existsSync(target) && !o.force) {
        throw new KeelError(
            `${rulesFile} already exists; mask-init leaves it as it is. Fix: 'keel db mask-check${o.rules ? ` --rules ${rulesFile}` : ""}' lists what it misses; ` +
                `or overwrite it with 'keel db mask-init --force' (its reviewed rules are lost).`,
        );
    }
    const found = await loadMigrationColumns(path.resolve(io.root, migrations), migrations);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, renderRulesFile(found.columns));
    const review = renderRulesFile(found.columns)
        .split("\n")
        .filter((l) => /^\s+\S.*# review/.test(l)).length;
    io.out(
        `Wrote ${rulesFile}: ${found.columns.length} column${found.columns.length === 1 ? "" : "s"} of ${migrations}/, ` +
            `${review} guess${review === 1 ? "" : "es"} marked '# review' to check.`,
    );
    for (const l of unknownReport(found)) io.out(l);
    return 0;
}
