/**
 * The masking rules against the columns the migration files leave behind: the one
 * step `keel db mask-check`, preflight and the pre-commit hook share. Pure: the
 * callers read the migrations (from the work tree or git's index) and the rules text.
 */
import { checkExhaustive, Exhaustiveness } from "./exhaustive";
import type { MigrationColumns, UnknownColumns } from "./migrationColumns";
import { parseMaskingRules } from "./rules";

export interface MaskingCoverage {
    /** The rules file as the messages name it. */
    rulesFile: string;
    /** How many columns the migrations leave behind. */
    columns: number;
    result: Exhaustiveness;
    /** Statements whose columns the files cannot tell (not checked). */
    unknown: UnknownColumns[];
}

/** Parses the rules (throws MaskingRulesError when they do not validate) and checks them against the columns. */
export function maskingCoverage(found: MigrationColumns, rulesText: string, rulesFile: string): MaskingCoverage {
    const rules = parseMaskingRules(rulesText, rulesFile);
    return { rulesFile, columns: found.columns.length, result: checkExhaustive(found.columns, rules), unknown: found.unknown };
}

/** Whether every column has a rule and no rule is stale. */
export function isCovered(c: MaskingCoverage): boolean {
    return c.result.unclassified.length === 0 && c.result.stale.length === 0;
}
