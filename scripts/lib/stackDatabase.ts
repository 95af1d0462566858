/**
 * A stack's database as operator commands find it: its direct URL is the
 * stack output `databaseUrl`, read through the engine (the state holds it
 * encrypted; on dev with the empty passphrase engineEnv supplies), and the
 * guard of the commands that are for the dev database only (dev:seed, dev:reset).
 */
import { spawn } from "child_process";
import { describeTarget, unusableUrlReason } from "../../components/postgres/connection";
import { KeelError } from "../../components/errors";
import { engineEnv, stageOf, stateBackend } from "./engine";
import { PulumiCli, pulumiCliOrBuild } from "./pulumiCli";

export class StackDatabaseError extends KeelError {
    constructor(message: string) {
        super(message, "StackDatabaseError");
    }
}

/** Refuses, before anything is read or changed, a stack whose stage (keel:stage, else its name) is not dev. */
export function requireDevStage(root: string, stack: string, command: string): void {
    const stage = stageOf(root, stack);
    if (stage === "dev") return;
    throw new StackDatabaseError(
        `${command} is for the dev database only: stack '${stack}' has the stage '${stage}' (its keel:stage, else its name). Nothing was changed.` +
            (command === "dev:reset"
                ? ` To give staging a fresh copy of prod's data, sanitized: npm run db:reset -- --stack ${stack}.`
                : ""),
    );
}

export interface StackOutputOptions {
    root: string;
    stack: string;
    env: Record<string, string | undefined>;
    /** The engine's CLI (default: the one engine.ts finds). */
    cli?: PulumiCli;
}

/**
 * A string output of the stack, read through the engine without creating the
 * stack; a clear error, saying to run `npm run up` first, when the stack or
 * the output does not exist yet.
 */
export async function stackOutput(o: StackOutputOptions, name: string): Promise<string> {
    const firstUp = `run 'npm run up -- ${o.stack}' first: it creates the database and records its URL`;
    // One CLI call (about a third of what the Automation API's outputs() costs): `pulumi stack output --json --show-secrets`.
    const cli = o.cli ?? pulumiCliOrBuild(o.root, o.env);
    const res = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
        const child = spawn(cli.bin, ["stack", "output", "--json", "--show-secrets", "--stack", o.stack], {
            cwd: o.root,
            env: engineEnv(o.root, o.stack, cli, o.env),
            stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (err += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, out, err }));
    });
    if (res.code !== 0) {
        if (/no stack named|not found/i.test(res.err)) {
            throw new StackDatabaseError(`The ${o.stack} stack does not exist yet in ${stateBackend(o.root, o.env)}: ${firstUp}.`);
        }
        throw new StackDatabaseError(`pulumi stack output of the ${o.stack} stack failed: ${res.err.trim()}`);
    }
    const value = (JSON.parse(res.out || "{}") as Record<string, unknown>)[name];
    if (typeof value !== "string" || !value) {
        throw new StackDatabaseError(`The ${o.stack} stack has no output ${name} (no successful 'npm run up' yet): ${firstUp}.`);
    }
    return value;
}

/** The stack's direct database URL (stack output databaseUrl), checked usable for migrations. */
export async function stackDatabaseUrl(o: StackOutputOptions): Promise<string> {
    const url = await stackOutput(o, "databaseUrl");
    const reason = unusableUrlReason(url);
    if (reason) throw new StackDatabaseError(`The ${o.stack} stack's databaseUrl (${describeTarget(url)}) ${reason}.`);
    return url;
}

/**
 * The database a dev command works on: --url when given, else the dev stack's
 * own (its databaseUrl output). Never DATABASE_URL: after a recipe such as
 * `export DATABASE_URL=$(npm run -s db:url -- --stack staging)` it may name
 * another stack's database. Says on `say` which one it is, and when
 * DATABASE_URL points elsewhere.
 */
export async function devDatabaseUrl(o: StackOutputOptions & { url?: string; say: (line: string) => void }): Promise<string> {
    let url: string;
    if (o.url) {
        const reason = unusableUrlReason(o.url);
        if (reason) throw new StackDatabaseError(`The database URL for ${describeTarget(o.url)} ${reason}.`);
        url = o.url;
    } else {
        url = await stackDatabaseUrl(o);
        const exported = o.env.DATABASE_URL;
        if (exported && describeTarget(exported) !== describeTarget(url)) {
            o.say(
                `note: DATABASE_URL names ${describeTarget(exported)}; this command uses the ${o.stack} stack's database (pass --url for another)`,
            );
        }
    }
    return url;
}
