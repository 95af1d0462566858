/**
 * A stack's database as operator commands find it, by one rule (urlSource):
 * --url, else DATABASE_URL for an external stack that takes its URL from the
 * environment, else the stack output `databaseUrl`, read through the engine
 * (the state holds it encrypted; on dev with the empty passphrase engineEnv
 * supplies). Also the guard of the commands that are for the dev database only
 * (dev:seed, dev:reset).
 */
import { spawn } from "child_process";
import * as fs from "fs";
import { describeTarget, unusableUrlReason } from "../../components/postgres/connection";
import type { DatabaseConfig } from "../../components/config";
import { KeelError } from "../../components/errors";
import { engineEnv, stackFileStage, stateBackend } from "./engine";
import { PulumiCli, pulumiCliOrBuild } from "./pulumiCli";
import { readStackConfig } from "./stackConfig";

export class StackDatabaseError extends KeelError {
    constructor(message: string) {
        super(message, "StackDatabaseError");
    }
}

/** Refuses, before anything is read or changed, a stack whose stage (keel:stage, else its name) is not dev. */
export function requireDevStage(root: string, stack: string, command: string): void {
    const stage = stackFileStage(root, stack);
    if (stage === "dev") return;
    throw new StackDatabaseError(
        `${command} is for the dev database only: stack '${stack}' has ${stage ? `the stage '${stage}'` : "no stage"} (its keel:stage, else its name). Nothing was changed.` +
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
    const backend = stateBackend(o.root, o.env);
    // A file backend that does not exist holds no stack: said without creating its directory (engineEnv would).
    if (backend.startsWith("file://") && !fs.existsSync(backend.slice("file://".length))) {
        throw new StackDatabaseError(`The ${o.stack} stack does not exist yet in ${backend}: ${firstUp}.`);
    }
    // One CLI call (about a third of what the Automation API's outputs() costs): `pulumi stack output --json --show-secrets`.
    const res = await runEngineCli(o, ["stack", "output", "--json", "--show-secrets", "--stack", o.stack]);
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

/** Runs the engine's CLI for the stack (its environment: backend, passphrase) and collects its output. */
export async function runEngineCli(o: StackOutputOptions, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
    const cli = o.cli ?? pulumiCliOrBuild(o.root, o.env);
    return new Promise((resolve, reject) => {
        const child = spawn(cli.bin, args, {
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
}

/**
 * A config value of the stack, decrypted when it is a secret (the engine's `config get`, with the stack's passphrase
 * from the environment); undefined when the stack file does not set it.
 */
export async function stackConfigValue(o: StackOutputOptions, key: string): Promise<string | undefined> {
    const res = await runEngineCli(o, ["config", "get", key, "--stack", o.stack]);
    if (res.code === 0) return res.out.replace(/\n$/, "");
    if (/not found|configuration key .* not found/i.test(res.err)) return undefined;
    throw new StackDatabaseError(`npm run pulumi -- config get ${key} --stack ${o.stack} failed: ${res.err.trim()}`);
}

/** The stack's direct database URL (stack output databaseUrl), checked usable for migrations. */
export async function stackDatabaseUrl(o: StackOutputOptions): Promise<string> {
    const url = await stackOutput(o, "databaseUrl");
    const reason = unusableUrlReason(url);
    if (reason) throw new StackDatabaseError(`The ${o.stack} stack's databaseUrl (${describeTarget(url)}) ${reason}.`);
    return url;
}

/** What the rule reads of a stack's database config (keel:database.kind; an external one's URL source). */
export type DatabaseKind = { kind: DatabaseConfig["kind"]; source?: "config" | "env" };

/** Where a command's database URL comes from. */
export type UrlSource = "--url" | "DATABASE_URL" | "stack output";

/**
 * The one rule every command that connects follows (schema:*, db:*, preflight,
 * db:url, dev:seed, dev:reset, schema:diff): an explicit --url wins; an external
 * stack whose config takes its URL from the environment (no keel:databaseUrl)
 * reads DATABASE_URL, as its program does; every other stack's database is its
 * own, the stack output databaseUrl. DATABASE_URL never picks another stack's
 * database: after `export DATABASE_URL=$(npm run -s db:url -- --stack staging)`
 * it may name staging's while the command is about dev.
 */
export function urlSource(url: string | undefined, database: DatabaseKind): UrlSource {
    if (url !== undefined) return "--url";
    if (database.kind === "external" && database.source === "env") return "DATABASE_URL";
    return "stack output";
}

export interface StackDatabaseOptions extends StackOutputOptions {
    /** --url, when given: it wins. */
    url?: string;
    /** The stack's database config, when the caller has read it (else it is read from Pulumi.<stack>.yaml). */
    database?: DatabaseKind;
    /** The command has --url (default true): its errors then say it works meanwhile. */
    urlOption?: boolean;
    /** Where a note goes when DATABASE_URL names another database than the one used. */
    say?: (line: string) => void;
}

export interface StackDatabase {
    url: string;
    source: UrlSource;
}

/** The database a command works on, by urlSource's rule; the URL is checked usable (direct, not pooled). */
export async function stackDatabase(o: StackDatabaseOptions): Promise<StackDatabase> {
    const database = o.database ?? readStackConfig(o.root, o.stack, o.env).database;
    const source = urlSource(o.url, database);
    let url: string;
    if (source === "stack output") {
        try {
            url = await stackDatabaseUrl(o);
        } catch (err) {
            // The stack's database is not known yet: say that --url works meanwhile.
            if (o.urlOption !== false && err instanceof KeelError) {
                throw new StackDatabaseError(`${err.message.replace(/\.$/, "")}; or pass --url <postgres-url> for another database.`);
            }
            throw err;
        }
        const exported = o.env.DATABASE_URL;
        if (exported && o.say && describeTarget(exported) !== describeTarget(url)) {
            o.say(
                `note: DATABASE_URL names ${describeTarget(exported)}; this command uses the ${o.stack} stack's database, ${describeTarget(url)} ` +
                    `(its output databaseUrl; pass --url for another)`,
            );
        }
    } else {
        url = source === "--url" ? o.url! : (o.env.DATABASE_URL ?? "");
        const reason = unusableUrlReason(url);
        if (reason) throw new StackDatabaseError(`The database URL (${source}) for ${describeTarget(url)} ${reason}.`);
    }
    return { url, source };
}

/** The database a dev command works on (dev:seed, dev:reset): stackDatabase's rule, the URL alone. */
export async function devDatabaseUrl(o: StackDatabaseOptions & { say: (line: string) => void }): Promise<string> {
    return (await stackDatabase(o)).url;
}
