/**
 * The masking rules against the staged migrations: when the index holds the rules
 * file and the commit touches a migration or the rules, every column the staged
 * migration files leave behind must have a rule and no rule may be stale (the
 * same check as preflight's, on what the commit will hold).
 */
import { MaskingRulesError, maskingCoverage } from "../masking";
import { columnsOfSources } from "../masking/migrationColumns";
import { checkMasking, Finding } from "../preflight/index";
import { compareVersions, MIGRATION_FILE_PATTERN, MigrationSource, migrationSource } from "../schema/migrationSet";

export interface StagedMaskingInput {
    /** The migrations directory, relative to the repository's top, `/`-separated. */
    dir: string;
    /** The rules file, relative to the top (db/masking.yaml). */
    rulesFile: string;
    /** File names directly in `dir` in the index. */
    indexNames: string[];
    /** The staged bytes of a path. */
    read(path: string): Buffer;
}

/** The errors of the masking check on the index; none when a migration file does not load (the migration check reports that). */
export async function checkStagedMasking(input: StagedMaskingInput): Promise<Finding[]> {
    const sources: MigrationSource[] = [];
    let found;
    try {
        for (const name of input.indexNames) {
            if (!MIGRATION_FILE_PATTERN.test(name)) continue;
            const p = `${input.dir}/${name}`;
            sources.push(migrationSource(name, input.read(p), p));
        }
        sources.sort((a, b) => compareVersions(a.version, b.version));
        found = await columnsOfSources(sources, input.dir);
    } catch {
        return [];
    }
    let check;
    try {
        const coverage = maskingCoverage(found, input.read(input.rulesFile).toString("utf8"), input.rulesFile);
        check = checkMasking({ kind: "checked", coverage, migrations: `${input.dir}/` });
    } catch (err) {
        if (!(err instanceof MaskingRulesError)) throw err;
        check = checkMasking({ kind: "invalid", rulesFile: input.rulesFile, message: err.message });
    }
    return check.findings.filter((f) => f.level === "error");
}
