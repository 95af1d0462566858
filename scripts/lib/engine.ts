/**
 * Keel's program through Pulumi's engine, the way every command runs it: the
 * Automation API with the program inline (the engine talks to it inside this
 * process, so no nodejs language host is needed and nothing type-checks at
 * every preview), the project directory as the workspace, and the state
 * backend passed per command through PULUMI_BACKEND_URL. `pulumi login` is
 * never run: it would change the backend of every project of the user.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import type { Stack } from "@pulumi/pulumi/automation";
import { stacksIn } from "../../components/config/context";
import { Stage, stageOf } from "../../components/config/stage";
import { KeelError } from "../../components/errors";
import { PulumiCli, pulumiCliOrBuild } from "./pulumiCli";

export class StackAccessError extends KeelError {
    constructor(message: string) {
        super(message, "StackAccessError");
    }
}

/** `PULUMI_BACKEND_URL` when set (a shared backend, as in CI), else the project's local file state. */
export function stateBackend(root: string, env: Record<string, string | undefined>): string {
    return env.PULUMI_BACKEND_URL || `file://${path.join(root, ".pulumi-state")}`;
}

/**
 * What `--policy-pack` gets for a pack directory: its analyzer.js (Keel's pack has one), which the
 * engine runs as an analyzer plugin itself. The directory (policies) works only
 * where the nodejs language host is installed, and Keel's own CLI (npm run
 * pulumi:build) comes without one; see policies/analyzer.js.
 */
export function policyPackPath(root: string, dir = "policies"): string {
    const analyzer = path.resolve(root, dir, "analyzer.js");
    return fs.existsSync(analyzer) ? analyzer : path.resolve(root, dir);
}

/** The keel:stage a stack file sets, as written (undefined when it sets none, or there is no file). */
function configuredStage(root: string, stack: string): string | undefined {
    try {
        const configured = parse(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8"))?.config?.["keel:stage"];
        return typeof configured === "string" && configured ? configured : undefined;
    } catch {
        // No stack file yet: the name decides.
        return undefined;
    }
}

/**
 * Whether the stack's secrets open with dev's empty passphrase: a dev stack's, and a preview's made from a
 * dev stack (its file carries its base's secrets: keel pr up, components/previews/stackConfig.ts).
 */
function emptyPassphraseStack(root: string, stack: string): boolean {
    const stage = stackFileStage(root, stack);
    if (stage === "dev") return true;
    if (stage !== "preview") return false;
    try {
        const base = parse(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8"))?.config?.["keel:preview"]?.base;
        return typeof base === "string" && base !== stack && stackFileStage(root, base) === "dev";
    } catch {
        return false;
    }
}

/** The stack's stage as its stack file says it (stageOf in components/config/stage.ts: keel:stage, else its name). */
export function stackFileStage(root: string, stack: string): Stage | undefined {
    return stageOf(stack, configuredStage(root, stack));
}

/**
 * Why the stack's state cannot be opened with this environment, or undefined
 * when it can: outside dev, a self-managed backend needs the passphrase that
 * encrypts the stack's secrets (dev's is empty unless one is set; Pulumi Cloud
 * needs none).
 */
export function missingPassphrase(root: string, stack: string, env: Record<string, string | undefined>): string | undefined {
    const hasPassphrase = env.PULUMI_CONFIG_PASSPHRASE !== undefined || !!env.PULUMI_CONFIG_PASSPHRASE_FILE;
    if (hasPassphrase || emptyPassphraseStack(root, stack) || /^https?:\/\//.test(stateBackend(root, env))) return undefined;
    const configured = configuredStage(root, stack);
    if (configured && !stackFileStage(root, stack)) {
        // Which passphrase applies depends on the stage: a mistyped one is the thing to fix first.
        return `keel:stage in Pulumi.${stack}.yaml is '${configured}', which is not a stage: set it to dev, staging or prod in that file, then run this command again`;
    }
    if (!fs.existsSync(path.join(root, `Pulumi.${stack}.yaml`))) {
        // A mistyped stack name: asking for its passphrase would send the user looking for the wrong thing.
        return `there is no Pulumi.${stack}.yaml here, so no ${stack} stack: the stacks are ${stacksIn(root).join(", ") || "none"} (to add one: ./keel stack new ${stack} --stage <dev|staging|prod>)`;
    }
    return `the ${stack} stack's secrets are encrypted with a passphrase: export PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) before running this command`;
}

/**
 * The environment the CLI runs with. The dev stack's secrets (a local database's
 * password) are encrypted with an empty passphrase unless one is set; any other
 * stack on a self-managed backend needs the user's passphrase.
 */
export function engineEnv(root: string, stack: string, cli: PulumiCli, env: Record<string, string | undefined>): Record<string, string> {
    const backend = stateBackend(root, env);
    const vars: Record<string, string> = {
        // The CLI and the provider processes it starts see this environment (the program, in this process, sees process.env).
        ...Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
        PULUMI_BACKEND_URL: backend,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        // The dynamic-provider and policy-pack plugins are looked up beside the CLI first.
        PATH: [path.dirname(cli.bin), env.PATH ?? ""].join(path.delimiter),
        // The policy pack reads the project's stack files (preview-isolated-from-prod): this project's, not the pack's checkout's.
        KEEL_PROJECT_ROOT: path.resolve(root),
    };
    const hasPassphrase = env.PULUMI_CONFIG_PASSPHRASE !== undefined || !!env.PULUMI_CONFIG_PASSPHRASE_FILE;
    if (!hasPassphrase && emptyPassphraseStack(root, stack)) vars.PULUMI_CONFIG_PASSPHRASE = "";
    const missing = missingPassphrase(root, stack, env);
    if (missing) throw new StackAccessError(missing);
    if (backend.startsWith("file://")) fs.mkdirSync(backend.slice("file://".length), { recursive: true });
    return vars;
}

export interface KeelStackOptions {
    /** The project directory: Pulumi.yaml, the stack files, the migrations. */
    root: string;
    stack: string;
    env?: Record<string, string | undefined>;
    cli?: PulumiCli;
    /** The program to run (default: Keel's own, index.ts, for this root). */
    program?: () => Promise<Record<string, unknown> | void>;
    /**
     * Create the stack when the backend has none (default true, as `npm run up` does on
     * first use); false for commands that only look (drift, schema:diff): a missing
     * stack is a StackAccessError saying so.
     */
    create?: boolean;
}

/** Selects the stack (creating it on first use) with Keel's program inline. */
export async function keelStack(options: KeelStackOptions): Promise<Stack> {
    const env = options.env ?? process.env;
    const cli = options.cli ?? pulumiCliOrBuild(options.root, env);
    // Loaded on demand: the Automation API pulls in gRPC, which commands without the engine never need.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { LocalWorkspace, PulumiCommand } = require("@pulumi/pulumi/automation") as typeof import("@pulumi/pulumi/automation");
    const program = options.program ?? (() => keelProgram(options.root));
    const envVars = engineEnv(options.root, options.stack, cli, env);
    const pulumiCommand = await PulumiCommand.get({ root: path.dirname(path.dirname(cli.bin)), skipVersionCheck: true });
    const args = { stackName: options.stack, projectName: "keel", program };
    const opts = { workDir: options.root, envVars, pulumiCommand };
    if (options.create !== false) return LocalWorkspace.createOrSelectStack(args, opts);
    try {
        return await LocalWorkspace.selectStack(args, opts);
    } catch (err) {
        if (/no stack named|stack .* not found/i.test(String((err as Error)?.message ?? err))) {
            throw new StackAccessError(
                `the ${options.stack} stack has no state in ${redactedBackend(envVars.PULUMI_BACKEND_URL)} yet (npm run up -- ${options.stack} creates it)`,
            );
        }
        throw err;
    }
}

/**
 * Runs an engine command and leaves Pulumi.<stack>.yaml as it was when all the
 * engine did to it was add `encryptionsalt:`. The engine writes the salt of a
 * passphrase-encrypted stack into its file when it creates the stack or first
 * opens its secrets manager there; the backend keeps the salt too, so a file
 * without secrets needs none. Committing a salt for staging and prod, as dev's
 * is, would tie them to one passphrase: the user's own is not known here. A
 * file with secrets has its salt already (set with them), which is kept.
 */
export async function keepingStackFile<T>(root: string, stack: string, run: () => Promise<T>): Promise<T> {
    const file = path.join(root, `Pulumi.${stack}.yaml`);
    const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
    try {
        return await run();
    } finally {
        if (before !== undefined && fs.existsSync(file)) {
            const after = fs.readFileSync(file, "utf8");
            if (after !== before && withoutSalt(after) === withoutSalt(before) && !/^encryptionsalt:/m.test(before)) {
                fs.writeFileSync(file, before);
            }
        }
    }
}

/** A stack file's text without its encryptionsalt line, trailing newlines aside. */
export function withoutSalt(text: string): string {
    return text.replace(/^encryptionsalt:.*(\r?\n|$)/m, "").replace(/\s+$/, "");
}

/** A backend URL for a message: any password or token in it left out. */
export function redactedBackend(url: string): string {
    return url.replace(/\/\/[^/@]*@/, "//");
}

/**
 * Keel's own program for a project directory. Any error fails the run, so that the
 * engine takes no step: a program that returns normally tells the engine it declared
 * everything, and the engine then deletes whatever it did not declare.
 */
export async function keelProgram(root: string): Promise<Record<string, unknown> | void> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const keel = require("../../index") as (root?: string) => Promise<Record<string, unknown>>;
    try {
        return await keel(root);
    } catch (err) {
        if (!pulumi.RunError.isInstance(err)) throw err;
        // Keel's config and migration-file errors carry their fix: printed once, as they are.
        await pulumi.log.error(err.message);
        throw new ProgramStopped();
    }
}

/**
 * Ends a run whose error is already logged. Thrown as itself, a RunError would be
 * printed twice by the SDK's inline runner (by its unhandled-rejection handler, then
 * as the run's result). An error with gRPC's CANCELLED code is the one the runner
 * passes over without printing; it then fails the run with one line of its own
 * ("One or more errors occurred: Keel stopped on the error above; nothing was changed").
 * test/e2e/programErrors.test.ts checks both: no step, the message once.
 */
class ProgramStopped extends Error {
    /** grpc.status.CANCELLED */
    readonly code = 1;
    constructor() {
        super("Keel stopped on the error above; nothing was changed");
    }
}

/**
 * Loads Keel's program (its modules: config validation, components) while the
 * engine starts up in its own process, so that when the engine asks for the
 * program it declares its resources at once and the engine starts their provider
 * sooner. Loading has no effect beyond the module cache; an error here is left
 * for the program's own run to report.
 */
export function loadProgramSoon(): void {
    setImmediate(() => {
        try {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            require("../../index");
        } catch {
            // The program's run requires it again and reports what is wrong.
        }
    });
}
