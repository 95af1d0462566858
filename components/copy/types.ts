/**
 * A copy of one PostgreSQL database into another, masked by the rules of
 * db/masking.yaml or not: the contract `keel db copy`, `db reset` and the
 * benchmark share (copyDatabase.ts carries it out).
 */
import type { MaskingRules } from "../masking/rules";
import type { MaskingKey } from "../masking/strategies";

export interface CopyRequest {
    /** The database read from (never written). */
    sourceUrl: string;
    /** The database replaced: written under a temporary name on the same server, checked, then swapped in. */
    targetUrl: string;
    /** The rules to mask with; absent for an unmasked copy. */
    masking?: { rules: MaskingRules; key: MaskingKey };
    /** Copy the schema only (no rows). */
    schemaOnly?: boolean;
    /** Copy only these tables' rows (schema-qualified or in `public`); the others are created empty. */
    tables?: string[];
    /** Keep the target's previous database (default true); false drops it after the swap (a temporary branch's copy of unmasked data). */
    keepPrevious?: boolean;
    /** Stops the copy (Ctrl-C): the unfinished copy is dropped and the target is left as it was. */
    signal?: AbortSignal;
    /** Progress lines for the operator. */
    progress?: (line: string) => void;
    env?: Record<string, string | undefined>;
}

export interface CopiedTable {
    /** schema.table */
    table: string;
    rows: number;
    /** Masked columns and their strategy, `column: strategy`. */
    masked: string[];
}

export interface CopyResult {
    tables: CopiedTable[];
    /** The name the target's previous database is kept under. */
    previous: string;
    /** What the checks after the copy found (row counts, constraints, leak check), one line each. */
    checked: string[];
}
