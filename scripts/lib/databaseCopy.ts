/**
 * The copy `keel db copy` makes, and `keel db reset` makes for a stack that is
 * not on Neon (scripts/dbCopy.ts, scripts/dbReset.ts):
 *
 * keel db copy --from <stack|url> --to <stack|url> [--schema-only] [--tables a,b] [--masked | --unmasked] [--yes]
 *
 * Copies one database over another (components/copy): masked by db/masking.yaml
 * whenever the source is a prod-stage stack (--unmasked refused there) or a URL
 * (Keel cannot tell a URL's stage: masked unless --unmasked is given on
 * purpose); unmasked between non-prod stacks unless --masked. A prod-stage stack
 * is never a target. The masking key is the target stack's keel:maskingKey
 * (KEEL_MASKING_KEY overrides it, and is needed when the target is a URL).
 * Prints the plan (tables, masked columns, row estimates) and asks first.
 * Between two Neon stacks of one project, the target branching off the source,
 * it is db reset's branch path (scripts/lib/neonBranchReset.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { copyDatabase, describeCopyPlan, planDatabaseCopy } from "../../components/copy";
import type { CopyRequest } from "../../components/copy";
import { stacksIn } from "../../components/config";
import { KeelError } from "../../components/errors";
import { MASKING_RULES_FILE, MaskingRules, nearest, parseMaskingRules } from "../../components/masking";
import { describeTarget } from "../../components/postgres/connection";
import { stackFileStage } from "./engine";
import type { PulumiCli } from "./pulumiCli";
import { resetNeonBranch } from "./neonBranchReset";
import { readStackConfig } from "./stackConfig";
import { stackConfigValue, stackDatabase } from "./stackDatabase";
import { UsageError } from "./usageError";

export const MASKING_KEY_VARIABLE = "KEEL_MASKING_KEY";
export const MASKING_KEY_CONFIG = "keel:maskingKey";
export const COPY_FROM_CONFIG = "keel:copyFrom";

export class DbCopyError extends KeelError {
    constructor(message: string) {
        super(message, "DbCopyError");
    }
}

export interface DbCopyOptions {
    from?: string;
    to?: string;
    schemaOnly?: boolean;
    tables?: string[];
    masked?: boolean;
    unmasked?: boolean;
    yes?: boolean;
    /** The rules file, relative to the root (default db/masking.yaml). */
    rules?: string;
}

export interface DbCopyIo {
    root: string;
    env: Record<string, string | undefined>;
    out(line: string): void;
    confirm(question: string): Promise<boolean>;
    cli?: PulumiCli;
    /** Called as the copy starts (after the question): a signal Ctrl-C aborts, which stops the copy and drops what it wrote. */
    interruptible?: () => AbortSignal;
    /** A stack's database URL (default: stackDatabase's rule, through the engine; tests give the URLs of stacks they did not deploy). */
    databaseOf?: (stack: string) => Promise<string>;
}

/** One end of a copy: a stack (with its stage) or a URL. */
interface CopyEnd {
    label: string;
    url: string;
    stack?: string;
    stage?: string;
}

const isUrl = (s: string) => /^postgres(ql)?:\/\//.test(s);

async function resolveEnd(spec: string, option: "--from" | "--to", io: DbCopyIo): Promise<CopyEnd> {
    if (isUrl(spec)) return { label: describeTarget(spec), url: spec };
    const url = io.databaseOf
        ? await io.databaseOf(spec)
        : (await stackDatabase({ root: io.root, stack: spec, env: io.env, cli: io.cli, urlOption: false })).url;
    const stage = stackFileStage(io.root, spec);
    return { label: `stack '${spec}' (${stage ?? "no stage"}, ${describeTarget(url)})`, url, stack: spec, stage };
}

/** A stack name or URL given for `option`, checked before anything connects. */
function checkSpec(spec: string, option: "--from" | "--to", root: string): void {
    if (isUrl(spec)) return;
    const stacks = stacksIn(root);
    if (stacks.includes(spec)) return;
    const near = nearest(spec, stacks);
    throw new UsageError(
        `${option} '${spec}' is neither a postgres:// URL nor a stack of this project` +
            (near ? `; did you mean '${near}'?` : `; its stacks: ${stacks.join(", ") || "(none)"}`),
    );
}

/** Whether the copy is masked, by the source's stage and the flags; refuses what must not be done. */
export function maskingDecision(from: { stack?: string; stage?: string }, o: Pick<DbCopyOptions, "masked" | "unmasked">): boolean {
    if (o.masked && o.unmasked) throw new UsageError("--masked and --unmasked contradict each other: give one");
    if (from.stack === undefined) return !o.unmasked;
    if (from.stage === "prod") {
        if (o.unmasked) {
            throw new DbCopyError(
                `--unmasked is refused: '${from.stack}' is a prod-stage stack, and its data leaves it only masked. Nothing was changed.`,
            );
        }
        return true;
    }
    return o.masked === true;
}

/** The masking key for a copy into `to`: KEEL_MASKING_KEY, else the target stack's keel:maskingKey. */
export async function maskingKeyFor(to: { stack?: string }, io: DbCopyIo): Promise<string> {
    const fromEnv = io.env[MASKING_KEY_VARIABLE];
    const key =
        fromEnv ||
        (to.stack ? await stackConfigValue({ root: io.root, stack: to.stack, env: io.env, cli: io.cli }, MASKING_KEY_CONFIG) : undefined);
    const source = fromEnv ? MASKING_KEY_VARIABLE : `${MASKING_KEY_CONFIG} of stack '${to.stack}'`;
    if (!key) {
        throw new DbCopyError(
            `A masked copy needs the target's masking key, and there is none: ` +
                (to.stack
                    ? `npm run pulumi -- config set --secret ${MASKING_KEY_CONFIG} "$(openssl rand -hex 32)" --stack ${to.stack}`
                    : `export ${MASKING_KEY_VARIABLE}="$(openssl rand -hex 32)" (the target is a URL, so no stack holds one)`) +
                `. Nothing was changed.`,
        );
    }
    if (Buffer.byteLength(key) < 16) {
        throw new DbCopyError(
            `The masking key (${source}) is shorter than 16 bytes; make a new one with: openssl rand -hex 32. Nothing was changed.`,
        );
    }
    return key;
}

/** The rules file parsed (MaskingRulesError names every problem by file:line); a missing file is said with its fix. */
export function readMaskingRules(root: string, rulesFile: string, why: string): MaskingRules {
    const file = path.resolve(root, rulesFile);
    if (!fs.existsSync(file)) {
        throw new DbCopyError(
            `${why}, and the masking rules file ${rulesFile} does not exist: write it with keel db mask-init, ` +
                `review every '# review' line, then copy again. Nothing was changed.`,
        );
    }
    return parseMaskingRules(fs.readFileSync(file, "utf8"), rulesFile);
}

export async function dbCopy(o: DbCopyOptions, io: DbCopyIo): Promise<number> {
    if (!o.to) throw new UsageError("--to <stack|url> is required: the database the copy replaces");
    checkSpec(o.to, "--to", io.root);
    const fromSpec = o.from ?? (isUrl(o.to) ? undefined : readStackConfig(io.root, o.to, io.env).copyFrom);
    if (!fromSpec) {
        throw new UsageError(
            `--from <stack|url> is required (or set ${COPY_FROM_CONFIG} in Pulumi.${o.to}.yaml to the stack '${o.to}' gets its data from)`,
        );
    }
    checkSpec(fromSpec, "--from", io.root);
    if (fromSpec === o.to) throw new UsageError(`--from and --to are both '${o.to}': a copy needs two databases`);
    if (!isUrl(o.to) && stackFileStage(io.root, o.to) === "prod") {
        throw new DbCopyError(
            `'${o.to}' is a prod-stage stack: a copy never overwrites prod. To bring prod back to an earlier state: keel db restore --stack ${o.to}. Nothing was changed.`,
        );
    }
    const fromStack = isUrl(fromSpec) ? {} : { stack: fromSpec, stage: stackFileStage(io.root, fromSpec) };
    // A schema carries no rows: nothing to mask, no rules or key needed.
    const masked = maskingDecision(fromStack, o) && !o.schemaOnly;
    const rulesFile = o.rules ?? MASKING_RULES_FILE;
    let masking: CopyRequest["masking"];
    if (masked) {
        const why = `This copy is masked (${fromStack.stack ? `'${fromSpec}' is ${o.masked ? "copied with --masked" : "a prod-stage stack"}` : "its source is a URL"})`;
        const rules = readMaskingRules(io.root, rulesFile, why);
        masking = { rules, key: await maskingKeyFor(isUrl(o.to) ? {} : { stack: o.to }, io) };
    }
    if (!isUrl(fromSpec) && !isUrl(o.to) && !o.schemaOnly && !o.tables) {
        // Neon to Neon, the target branching off the source: branch, mask on the temporary branch, restore.
        const toDb = readStackConfig(io.root, o.to, io.env).database;
        const fromDb = readStackConfig(io.root, fromSpec, io.env).database;
        if (
            toDb.kind === "neon" &&
            fromDb.kind === "neon" &&
            toDb.project.name === fromDb.project.name &&
            toDb.branch.parent === fromDb.branch.name
        ) {
            return resetNeonBranch(o.to, toDb, { yes: o.yes, masked }, io);
        }
    }
    const from = await resolveEnd(fromSpec, "--from", io);
    const to = await resolveEnd(o.to, "--to", io);
    if (from.url === to.url) throw new UsageError(`--from and --to name the same database (${describeTarget(to.url)})`);

    const request: CopyRequest = {
        sourceUrl: from.url,
        targetUrl: to.url,
        masking,
        schemaOnly: o.schemaOnly,
        tables: o.tables,
        env: io.env,
    };
    const plan = await planDatabaseCopy(request);
    const what = o.schemaOnly ? "the schema" : masked ? `the data, masked by ${rulesFile}` : "the data, unmasked";
    io.out(`db copy of ${what}`);
    io.out(`  from ${from.label}`);
    io.out(`  to   ${to.label}: written under a temporary name, checked, then swapped in (the current database is kept)`);
    for (const line of describeCopyPlan(plan)) io.out(line);
    if (o.yes !== true && !(await io.confirm("Go ahead? [y/N] "))) {
        io.out("Nothing was changed. (Pass --yes to skip this question in scripts.)");
        return 1;
    }
    const result = await copyDatabase({ ...request, progress: io.out, signal: io.interruptible?.() });
    const rows = result.tables.reduce((n, t) => n + t.rows, 0);
    io.out(
        `Done: ${to.stack ? `'${to.stack}'` : to.label} now holds ${result.tables.length} tables and ${rows} rows from ` +
            `${from.stack ? `'${from.stack}'` : from.label}${masked ? ", masked" : ""}.` +
            (result.previous ? ` Its previous database is kept as '${result.previous}' (drop it once satisfied).` : ""),
    );
    return 0;
}
