/**
 * The masking rules of a stack that receives copies of another's data (keel:copyFrom,
 * or a Neon branch with a parent): checked at every preview and up, before any
 * resource is declared, against the columns its migration files leave behind, so a
 * column added without a rule fails the deploy that adds it rather than the next
 * copy. Without a rules file the stack is only warned: nothing is copied yet, and
 * `keel db copy` refuses a masked copy until there is one. Reads the files; no Pulumi.
 */
import * as fs from "fs";
import * as path from "path";
import { copySource } from "../config/copies";
import type { DatabaseConfig } from "../config/database";
import { KeelError } from "../errors";
import { maskingCoverage, isCovered } from "./coverage";
import { describeExhaustiveness } from "./exhaustive";
import { loadMigrationColumns } from "./migrationColumns";
import { MASKING_RULES_FILE, MaskingRulesError } from "./rules";

/** What the check needs of the stack's config. */
export interface ReceivingStackConfig {
    stack: string;
    copyFrom?: string;
    database: DatabaseConfig;
    migrations: { dir: string };
}

export interface ReceivingStackCheck {
    /** Whether the stack receives copies (nothing else is checked when it does not). */
    receives: boolean;
    /** Said when the stack receives copies and has no rules file. */
    warning?: string;
}

/** The masking rules do not match the migrations of a stack that receives copies. */
export class ReceivingStackMaskingError extends KeelError {
    constructor(message: string) {
        super(message, "ReceivingStackMaskingError");
    }
}

/**
 * Checks `<root>/db/masking.yaml` against the stack's migrations when the stack receives copies; throws
 * {@link ReceivingStackMaskingError} when a column has no rule, a rule is stale or the file does not parse.
 */
export async function checkReceivingStack(
    root: string,
    config: ReceivingStackConfig,
    rulesFile: string = MASKING_RULES_FILE,
): Promise<ReceivingStackCheck> {
    const source = copySource(config);
    if (source === undefined) return { receives: false };
    const receives = `Stack '${config.stack}' receives copies of ${source}`;
    let text: string;
    try {
        text = fs.readFileSync(path.resolve(root, rulesFile), "utf8");
    } catch (err: any) {
        if (err.code !== "ENOENT") throw err;
        return {
            receives: true,
            warning:
                `${receives}, and ${rulesFile} does not exist: \`keel db copy\` will refuse a masked copy until ` +
                `\`keel db mask-init\` writes the rules (then review every line marked '# review').`,
        };
    }
    const dir = config.migrations.dir;
    const found = await loadMigrationColumns(path.resolve(root, dir), dir);
    let coverage;
    try {
        coverage = maskingCoverage(found, text, rulesFile);
    } catch (err) {
        if (err instanceof MaskingRulesError)
            throw new ReceivingStackMaskingError(`${receives}, so its masking rules must be valid. ${err.message}`);
        throw err;
    }
    if (!isCovered(coverage)) {
        throw new ReceivingStackMaskingError(
            `${receives}, so every column its migrations create needs a masking rule, and every rule a column ` +
                `(nothing was deployed; \`keel db mask-check\` checks the same without a deploy):\n` +
                describeExhaustiveness(coverage.result, rulesFile),
        );
    }
    return { receives: true };
}
