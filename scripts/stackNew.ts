/**
 * npm run stack:new -- <name> --stage <dev|staging|prod>
 *
 * Adds a stack: Pulumi.<name>.yaml from the stage's own file (its database and
 * migration settings, with names of the new stack's own so that nothing is
 * shared with the stack it came from), and the stack in the state backend
 * (.pulumi-state/, or PULUMI_BACKEND_URL) with the passphrase secrets
 * provider. The passphrase is the one every later command uses for the stack:
 * dev's is empty unless PULUMI_CONFIG_PASSPHRASE is set; staging and prod
 * refuse to start without one. The stack's `encryptionsalt` is written into
 * the file at creation, so later commands leave the file as it is.
 *
 * A pull request's preview (the stack pr-<n>, stage preview) is not made here:
 * keel pr up writes its file from its base's on every run.
 *
 * `pulumi stack init` alone gets neither right: it knows no stage (so the
 * stack's secrets used whatever passphrase the shell had) and writes no config.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { MANUAL_STAGES, Stage } from "../components/config";
import { prOfStack } from "../components/previews/naming";
import { DEFAULT_LOCAL_PORT } from "../components/config/database";
import { KeelError } from "../components/errors";
import { UsageError } from "./lib/usageError";
import { stateBackend } from "./lib/engine";
import { PulumiCli, pulumiCliOrBuild } from "./lib/pulumiCli";

export class StackNewError extends KeelError {
    constructor(message: string) {
        super(message, "StackNewError");
    }
}

export interface StackNewIo {
    root: string;
    env: Record<string, string | undefined>;
    out(line: string): void;
    cli?: PulumiCli;
}

/** Pulumi's own rule for a stack name, kept to what also names a file and a local database directory. */
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** The passphrase the stack's secrets get, or why there is none to use. */
export function passphraseFor(stage: Stage, env: Record<string, string | undefined>): { env: Record<string, string> } | { error: string } {
    if (env.PULUMI_CONFIG_PASSPHRASE_FILE) return { env: { PULUMI_CONFIG_PASSPHRASE_FILE: env.PULUMI_CONFIG_PASSPHRASE_FILE } };
    if (stage === "dev") return { env: { PULUMI_CONFIG_PASSPHRASE: env.PULUMI_CONFIG_PASSPHRASE ?? "" } };
    if (env.PULUMI_CONFIG_PASSPHRASE) return { env: { PULUMI_CONFIG_PASSPHRASE: env.PULUMI_CONFIG_PASSPHRASE } };
    return {
        error:
            `a ${stage} stack's secrets (database URLs, API tokens) are encrypted with a passphrase, and PULUMI_CONFIG_PASSPHRASE is ` +
            `${env.PULUMI_CONFIG_PASSPHRASE === undefined ? "not set" : "empty"}: export PULUMI_CONFIG_PASSPHRASE=<the passphrase every command on this stack will use> ` +
            `(or PULUMI_CONFIG_PASSPHRASE_FILE) and run this again. Nothing was created.`,
    };
}

/** The local ports the project's stack files (but `except`'s) give their local or docker databases. */
export function portsInUse(root: string, except?: string): number[] {
    const ports: number[] = [];
    for (const f of fs.readdirSync(root).filter((n) => /^Pulumi\..+\.yaml$/.test(n) && n !== `Pulumi.${except}.yaml`)) {
        try {
            const db = parse(fs.readFileSync(path.join(root, f), "utf8"))?.config?.["keel:database"];
            const kind = db?.kind ?? "local";
            const port = db?.[kind]?.port ?? (kind === "local" ? DEFAULT_LOCAL_PORT : undefined);
            if (typeof port === "number") ports.push(port);
        } catch {
            // An unreadable stack file is that stack's problem, not this one's.
        }
    }
    return ports;
}

/**
 * The new stack's `config:`: the stage file's keel:database and keel:migrations
 * (the sections every stage needs), with what names a resource made the new
 * stack's own (a local or docker port of its own, a Neon branch named after it,
 * or, for the stage that owns the Neon project, a project of its own), and
 * keel:stage. The backend, frontend and GitHub sections name real apps and
 * environments: they are left for the user to add with names of their own.
 */
export function stackConfigFor(
    name: string,
    stage: Stage,
    template: Record<string, any>,
    project: string,
    usedPorts: number[],
): Record<string, unknown> {
    const config: Record<string, unknown> = { "keel:stage": stage };
    const database = structuredClone(template["keel:database"] ?? (stage === "dev" ? { kind: "local" } : undefined));
    if (database) {
        const kind = database.kind ?? "local";
        if (kind === "local" || kind === "docker") {
            database[kind] ??= {};
            const port = Math.max(...usedPorts, DEFAULT_LOCAL_PORT) + 1;
            database[kind].port = port;
        } else if (kind === "neon" && database.neon) {
            const owned = (database.neon.project?.ownedBy ?? "prod") === stage;
            if (owned) {
                database.neon.project = { ...database.neon.project, name: `${database.neon.project?.name ?? project}-${name}` };
            } else if (database.neon.branch) {
                // Without a name, the branch is named after the stack.
                delete database.neon.branch.name;
            }
        }
        config["keel:database"] = database;
    }
    if (template["keel:migrations"]) config["keel:migrations"] = structuredClone(template["keel:migrations"]);
    return config;
}

/** The file's text: what it is, the config, and the salt of the stack's passphrase. */
export function stackFileText(name: string, stage: Stage, config: Record<string, unknown>, salt: string, devPassphrase: boolean): string {
    const secrets =
        stage === "dev" && !devPassphrase
            ? "Its secrets are encrypted with the empty passphrase, as dev's are: no command on it needs PULUMI_CONFIG_PASSPHRASE."
            : "Its secrets are encrypted with the PULUMI_CONFIG_PASSPHRASE it was created with: export it for every command on it.";
    return (
        [
            `# ${name}: a ${stage} stack (npm run stack:new), with the database and migration settings of Pulumi.${stage}.yaml.`,
            `# ${secrets}`,
            `# A backend, frontend or GitHub environment: copy keel:backend, keel:frontend or keel:github from`,
            `# Pulumi.${stage}.yaml and give the apps names of their own. Secrets: npm run pulumi -- config set --secret <key> <value> --stack ${name}`,
            stringify({ config }).trimEnd(),
            "# The salt of the stack's passphrase, written when the stack was created: committed, it keeps later commands from rewriting this file.",
            `encryptionsalt: ${salt}`,
        ].join("\n") + "\n"
    );
}

export interface StackNewOptions {
    name?: string;
    /** dev, staging or prod: whose defaults, checks and template the stack gets. */
    stage?: string;
}

export async function stackNew(options: StackNewOptions, io: StackNewIo): Promise<number> {
    const { name, stage } = options;
    if (!name) throw new UsageError("give the new stack's name: keel stack new <name> --stage <dev|staging|prod>");
    if (!STACK_NAME.test(name)) {
        throw new UsageError(`'${name}' cannot name a stack: use letters, digits, '.', '-' and '_' (starting with a letter or digit)`);
    }
    const pr = prOfStack(name);
    if (stage === "preview" || pr !== undefined) {
        // A preview is made from a base stack's file on every run, and removed, by keel pr up|down: never by hand.
        throw new UsageError(
            `${pr !== undefined ? `'${name}' is the name of pull request ${pr}'s preview` : "--stage preview is not for keel stack new"}: ` +
                `a pull request's preview is the stack pr-<n>, made by keel pr up --pr ${pr ?? "<n>"} [--from <stack>] and removed by keel pr down. ` +
                `For a stack of your own, choose another name and --stage <${MANUAL_STAGES.join("|")}>.`,
        );
    }
    if (!stage || !(MANUAL_STAGES as readonly string[]).includes(stage)) {
        throw new UsageError(`--stage needs one of ${MANUAL_STAGES.join(", ")}${stage ? `, not '${stage}'` : ""}`);
    }
    const file = path.join(io.root, `Pulumi.${name}.yaml`);
    if (fs.existsSync(file)) {
        throw new StackNewError(
            `Pulumi.${name}.yaml already exists: the stack '${name}' is set up already. Choose another name, or, to start it over, ` +
                `remove the file (and its state: npm run pulumi -- stack rm ${name} --stack ${name}). Nothing was changed.`,
        );
    }
    const passphrase = passphraseFor(stage as Stage, io.env);
    if ("error" in passphrase) throw new StackNewError(passphrase.error);
    const templateFile = path.join(io.root, `Pulumi.${stage}.yaml`);
    if (!fs.existsSync(templateFile))
        throw new StackNewError(`Pulumi.${stage}.yaml, the ${stage} stage's template, is missing from ${io.root}.`);
    const template = parse(fs.readFileSync(templateFile, "utf8"))?.config ?? {};
    const project = parse(fs.readFileSync(path.join(io.root, "Pulumi.yaml"), "utf8"))?.name ?? "keel";
    const config = stackConfigFor(name, stage as Stage, template, project, portsInUse(io.root));

    const backend = stateBackend(io.root, io.env);
    if (backend.startsWith("file://")) fs.mkdirSync(backend.slice("file://".length), { recursive: true });
    const cli = io.cli ?? pulumiCliOrBuild(io.root, io.env);
    const env = Object.fromEntries(Object.entries(io.env).filter((e): e is [string, string] => e[1] !== undefined));
    delete env.PULUMI_CONFIG_PASSPHRASE;
    delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
    // `stack init` writes Pulumi.<name>.yaml with the new salt alone; the config is written around it below.
    const res = spawnSync(cli.bin, ["stack", "init", name, "--secrets-provider", "passphrase", "--non-interactive"], {
        cwd: io.root,
        encoding: "utf8",
        env: { ...env, ...passphrase.env, PULUMI_BACKEND_URL: backend, PULUMI_SKIP_UPDATE_CHECK: "true" },
    });
    const where = backend.replace(/\/\/[^/@]*@/, "//");
    if (res.status !== 0) {
        fs.rmSync(file, { force: true });
        const why = (res.stderr || res.stdout || String(res.error ?? "")).trim().replace(/^error: /, "");
        throw new StackNewError(
            /already exists/i.test(why)
                ? `The state backend ${where} already has a stack named '${name}' (its file is missing here). Choose another name, or remove ` +
                      `that stack first: npm run pulumi -- stack rm ${name} --stack ${name}. Nothing was changed.`
                : `pulumi stack init ${name} failed in ${where}: ${why}. Nothing was changed.`,
        );
    }
    const salt = fs.existsSync(file) ? parse(fs.readFileSync(file, "utf8"))?.encryptionsalt : undefined;
    if (typeof salt !== "string" || !salt) {
        throw new StackNewError(
            `pulumi stack init ${name} wrote no encryptionsalt into Pulumi.${name}.yaml; the stack exists in ${where}.`,
        );
    }
    fs.writeFileSync(
        file,
        stackFileText(name, stage as Stage, config, salt, !!(io.env.PULUMI_CONFIG_PASSPHRASE || io.env.PULUMI_CONFIG_PASSPHRASE_FILE)),
    );
    io.out(`Created the stack '${name}' (stage ${stage}) in ${where} and Pulumi.${name}.yaml from Pulumi.${stage}.yaml.`);
    io.out(
        stage === "dev" && !io.env.PULUMI_CONFIG_PASSPHRASE && !io.env.PULUMI_CONFIG_PASSPHRASE_FILE
            ? "Its secrets use the empty passphrase, as dev's do."
            : "Its secrets use the PULUMI_CONFIG_PASSPHRASE of this shell: export the same one for every command on it.",
    );
    io.out("Next:");
    io.out(`  npm run pulumi -- config set --secret <key> <value> --stack ${name}    (secrets: keel:databaseUrl, API tokens)`);
    io.out(`  npm run preview -- ${name}, then npm run up -- ${name}`);
    io.out(`  git add Pulumi.${name}.yaml`);
    return 0;
}
