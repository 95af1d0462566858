/**
 * keel stack up|preview|refresh|destroy [<stack>] [options] (npm run up|preview|refresh|destroy): Keel's program through
 * Pulumi's engine on one stack (default dev), with the state backend passed per
 * command (scripts/lib/engine.ts). Refresh runs the program as well, so that the
 * stack outputs (schemaDrift among them) show what the refresh found at once. Dev and CI go ahead at once; elsewhere the
 * preview is shown and the command asks first. Stacks whose stage is not dev are
 * gated by the policy pack in policies/, loaded through policies/analyzer.js (KEEL_SKIP_POLICY=1 turns it off).
 * What holds data is protected on every stage (components/dataGuard.ts): destroy lifts that for the
 * whole stack, up for what keel:allowDataLoss names (scripts/lib/stackGuard.ts).
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { keelStack, keepingStackFile, loadProgramSoon, policyPackPath, stackFileStage } from "./lib/engine";
import { afterUp, noticeConfig, Outputs } from "./lib/deployOutcome";
import { allowedInStackFile, destroyStack, RefusalWatch, unprotect } from "./lib/stackGuard";
import { plainText } from "./lib/rollbackRunner";
import { readStackConfig } from "./lib/stackConfig";

export const STACK_COMMANDS = ["up", "preview", "refresh", "destroy"] as const;
export type StackCommand = (typeof STACK_COMMANDS)[number];

/** What one run of up, preview, refresh or destroy is given. */
export interface StackCommandOptions {
    stack: string;
    yes?: boolean;
    /** The update's message in pulumi stack history. */
    message?: string;
    expectNoChanges?: boolean;
    /** Refresh the state from the cloud first (up, preview). */
    refresh?: boolean;
    policyPack?: string;
    /** refresh only: without running the program. */
    skipProgram?: boolean;
}

export interface StackIo {
    root: string;
    env: Record<string, string | undefined>;
    out(text: string): void;
    /** The engine's error stream. */
    err(text: string): void;
    confirm(question: string): Promise<boolean>;
    /** Cancels the engine's command (the CLI gets SIGINT: it finishes the steps under way and stops). */
    signal?: AbortSignal;
}

export async function runStackCommand(command: StackCommand, options: StackCommandOptions, io: StackIo): Promise<number> {
    // The tracked stack file stays as it is: the engine would add the stack's encryptionsalt to it.
    return keepingStackFile(io.root, options.stack, () => runOnStack(command, options, io));
}

async function runOnStack(command: StackCommand, options: StackCommandOptions, io: StackIo): Promise<number> {
    const stack = options.stack;
    const stage = stackFileStage(io.root, stack);
    const ci = io.env.CI === "true";
    const yes = options.yes === true || ci || (stage === "dev" && command !== "destroy");
    const pack = options.policyPack ?? (stage !== "dev" && io.env.KEEL_SKIP_POLICY !== "1" ? "policies" : undefined);
    const policyPacks = pack && (command === "up" || command === "preview") ? [policyPackPath(io.root, pack)] : [];
    const message = options.message;
    const expectNoChanges = options.expectNoChanges === true;
    // Whether the engine printed anything: when it did not, its reason goes into the error (engineFailure).
    let shown = false;
    const onOutput = (t: string) => {
        shown ||= t.trim() !== "";
        io.out(t);
    };
    const onError = (t: string) => {
        shown ||= t.trim() !== "";
        io.err(t);
    };
    const refusals = new RefusalWatch(stack);
    // The update's cause in one line, for its record and notice: the engine's first error.
    let firstError: string | undefined;
    // The stack's outputs before the update, as the engine reports them with the new ones (no extra CLI call).
    let before: Outputs = {};
    const onEvent: typeof refusals.onEvent = (event) => {
        refusals.onEvent(event);
        const stackOutputs = event.resOutputsEvent?.metadata;
        if (stackOutputs?.type === "pulumi:pulumi:Stack") before = stackOutputs.old?.outputs ?? {};
        const d = event.diagnosticEvent;
        if (!firstError && d && d.severity === "error" && !d.ephemeral) firstError = plainDiagnostic(d.message);
    };
    // What every engine command of this run gets: the streams, the events (the data guard's refusals), Ctrl-C.
    const streams = { onOutput, onError, onEvent, ...(io.signal ? { signal: io.signal } : {}) };
    const refresh = options.refresh === true;

    let s: Stack;
    try {
        s = await keelStack({ root: io.root, stack, env: io.env });
    } catch (err) {
        throw engineFailure(err, command, stack, false);
    }
    // The engine's start (a second or so in its own process) and the program's loading overlap.
    loadProgramSoon();
    const ask = async (what: string): Promise<boolean> => {
        if (yes) return true;
        if (await io.confirm(`Do you want to ${what} the ${stack} stack? (yes/no) `)) return true;
        io.out(`not confirmed: nothing was changed (pass --yes to go ahead without asking).\n`);
        return false;
    };
    /** What keel:allowDataLoss names loses its protect in the state too: a resource no longer declared keeps the old one. */
    const liftAllowed = async (): Promise<void> => {
        const allowed = allowedInStackFile(io.root, stack);
        if (allowed.length === 0) return;
        const lifted = await unprotect(s, (name) => allowed.includes(name));
        if (lifted.length) io.out(`keel: keel:allowDataLoss lets this update delete or replace ${lifted.join(", ")}\n`);
    };
    const run = async (): Promise<number> => {
        switch (command) {
            case "preview":
                await s.preview({ ...streams, diff: true, policyPacks, expectNoChanges, refresh, ...(message ? { message } : {}) });
                return 0;
            case "up": {
                if (!yes) {
                    await s.preview({ ...streams, diff: true, policyPacks, refresh });
                    if (!(await ask("perform this update on"))) return 1;
                }
                await liftAllowed();
                const started = Date.now();
                let ok = false;
                let after: Outputs = {};
                try {
                    after = plainValues(
                        (await s.up({ ...streams, policyPacks, expectNoChanges, refresh, ...(message ? { message } : {}) })).outputs,
                    );
                    ok = true;
                } finally {
                    await reportUp(io, s, stack, stage, { started, ok, before, after, cause: firstError });
                }
                return 0;
            }
            case "refresh":
                if (!(await ask("refresh"))) return 1;
                // The program runs too (pulumi refresh --run-program): stack outputs are the program's, computed from the
                // resources' outputs, so without it schemaDrift (and every other output) would keep its old value until the next up.
                // The resources' inputs stay those of the last up.
                await s.refresh({
                    ...streams,
                    expectNoChanges,
                    runProgram: options.skipProgram !== true,
                    ...(message ? { message } : {}),
                });
                return 0;
            case "destroy":
                if (!(await ask("destroy every resource of"))) return 1;
                await destroyStack(s, { ...streams, ...(message ? { message } : {}) });
                return 0;
        }
    };

    try {
        return await run();
    } catch (err) {
        const explanation = refusals.explanation();
        if (explanation) io.err(`${explanation}\n`);
        throw engineFailure(err, command, stack, shown);
    }
}

type OutputMap = Record<string, { value: unknown; secret: boolean }>;

/** The outputs' values; secret ones left out (a record never holds them). */
function plainValues(outputs: OutputMap): Outputs {
    return Object.fromEntries(
        Object.entries(outputs)
            .filter(([, o]) => !o.secret)
            .map(([k, o]) => [k, o.value]),
    );
}

/** A diagnostic's first line, without the engine's colour tags and the `error:` prefix. */
function plainDiagnostic(message: string): string {
    const text = plainText(message).replace(/^error:\s*/, "");
    return text.split("\n").find((l) => l.trim()) ?? text;
}

/**
 * The update's record and, from a laptop, its notice (scripts/lib/deployOutcome.ts); never fails the update.
 * The webhook and the secrets to mask are read only where a notice is sent: a dev stack's loop pays nothing.
 */
async function reportUp(
    io: StackIo,
    s: Stack,
    stack: string,
    stage: string | undefined,
    r: { started: number; ok: boolean; before: Outputs; after: Outputs; cause?: string },
): Promise<void> {
    const say = (line: string) => io.err(`${line}\n`);
    try {
        const notifying = io.env.GITHUB_ACTIONS !== "true" && stage !== "dev";
        const { secrets, webhook } = notifying ? await noticeConfig(s, io.env) : { secrets: [], webhook: undefined };
        let migrationsDir: string | undefined;
        try {
            migrationsDir = readStackConfig(io.root, stack, io.env).migrations.dir;
        } catch {
            migrationsDir = undefined;
        }
        await afterUp({
            root: io.root,
            stack,
            stage,
            migrationsDir,
            env: io.env,
            startedMs: r.started,
            endedMs: Date.now(),
            ok: r.ok,
            ...(r.cause ? { cause: r.cause } : {}),
            before: r.before,
            after: r.after,
            ...(webhook ? { webhook } : {}),
            secrets,
            say,
        });
    } catch (err) {
        say(`keel: the deploy's record and notice were skipped: ${String((err as Error)?.message ?? err).split("\n")[0]}`);
    }
}

/**
 * What is left to say of a failed command. When the engine's own lines (its
 * diagnostics included) were shown as they came, one line; when it failed before
 * printing anything (it could not open the state, write its home directory, start),
 * its own words, which would otherwise be lost in the Automation API's error.
 */
export function engineFailure(err: unknown, command: string, stack: string, shown: boolean): Error {
    const text = String((err as Error)?.message ?? err);
    if (!/^code: -?\d+/.test(text)) return err as Error;
    if (shown) return new Error(`pulumi ${command} of the ${stack} stack failed; the reasons are above`);
    const result = (err as { commandResult?: { stderr?: string; stdout?: string } }).commandResult;
    const said = (result?.stderr || result?.stdout || /\n stderr: ([\s\S]*?)\n err\?:/.exec(text)?.[1] || "").trim();
    return new Error(`pulumi ${command} of the ${stack} stack failed: ${said.replace(/^error: /, "") || "the engine gave no reason"}`);
}
