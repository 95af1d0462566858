/**
 * npm run up|preview|refresh|destroy [-- <stack>] [options]: Keel's program through
 * Pulumi's engine on one stack (default dev), with the state backend passed per
 * command (scripts/lib/engine.ts). Refresh runs the program as well, so that the
 * stack outputs (schemaDrift among them) show what the refresh found at once. Dev and CI go ahead at once; elsewhere the
 * preview is shown and the command asks first. Stacks whose stage is not dev are
 * gated by the policy pack in policies/, loaded through policies/analyzer.js (KEEL_SKIP_POLICY=1 turns it off).
 * What holds data is protected on every stage (components/dataGuard.ts): destroy lifts that for the
 * whole stack, up for what keel:allowDataLoss names (scripts/lib/stackGuard.ts).
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { CommandSpec, ParsedCommandLine, runCommand, UsageError } from "./lib/cli";
import { keelStack, keepingStackFile, loadProgramSoon, policyPackPath, stackFileStage } from "./lib/engine";
import { confirmOnTty } from "./lib/prompt";
import { allowedInStackFile, destroyStack, RefusalWatch, unprotect } from "./lib/stackGuard";

const COMMANDS = ["up", "preview", "refresh", "destroy"] as const;
type Command = (typeof COMMANDS)[number];

function spec(command: string): CommandSpec {
    return {
        usage: `npm run ${command} -- [<stack>] [options]`,
        summary:
            `Runs pulumi ${command} of Keel's program on <stack> (default dev), with the state in .pulumi-state/ unless PULUMI_BACKEND_URL is set. ` +
            `Outside dev, PULUMI_CONFIG_PASSPHRASE must be set.` +
            (command === "destroy"
                ? ` Destroy is the one command that removes what holds data (the database, the schema resource): it lifts Keel's data guard for the whole stack.`
                : command === "up"
                  ? ` What holds data is never deleted or replaced unless keel:allowDataLoss names it (README: What Keel never deletes).`
                  : ""),
        maxPositionals: 1,
        options: [
            { name: "stack", short: "s", value: "<stack>", help: "the stack (dev, staging, prod, or another with a Pulumi.<stack>.yaml)" },
            { name: "yes", short: "y", help: "go ahead without asking (dev and CI=true never ask)" },
            { name: "message", short: "m", value: "<text>", help: "the update's message in pulumi stack history" },
            { name: "expect-no-changes", help: "fail when the preview or update would change anything (drift checks)" },
            { name: "refresh", help: "refresh the state from the cloud first (up, preview)" },
            { name: "policy-pack", value: "<dir>", help: "the policy pack to run (default: policies/ for stacks whose stage is not dev)" },
            ...(command === "refresh"
                ? [
                      {
                          name: "skip-program",
                          help: "refresh without running the program (when it cannot run); stack outputs such as schemaDrift then keep their values until the next up",
                      },
                  ]
                : []),
        ],
    };
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

function stackOf(args: ParsedCommandLine): string {
    return (args.options.stack as string | undefined) ?? args.positionals[0] ?? "dev";
}

export async function runStackCommand(command: Command, args: ParsedCommandLine, io: StackIo): Promise<number> {
    if (args.positionals.length && args.options.stack) throw new UsageError("give the stack once: as the argument or with --stack");
    // The tracked stack file stays as it is: the engine would add the stack's encryptionsalt to it.
    return keepingStackFile(io.root, stackOf(args), () => runOnStack(command, args, io));
}

async function runOnStack(command: Command, args: ParsedCommandLine, io: StackIo): Promise<number> {
    const stack = stackOf(args);
    const stage = stackFileStage(io.root, stack);
    const ci = io.env.CI === "true";
    const yes = args.options.yes === true || ci || (stage === "dev" && command !== "destroy");
    const pack =
        (args.options["policy-pack"] as string | undefined) ??
        (stage !== "dev" && io.env.KEEL_SKIP_POLICY !== "1" ? "policies" : undefined);
    const policyPacks = pack && (command === "up" || command === "preview") ? [policyPackPath(io.root, pack)] : [];
    const message = args.options.message as string | undefined;
    const expectNoChanges = args.options["expect-no-changes"] === true;
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
    // What every engine command of this run gets: the streams, the events (the data guard's refusals), Ctrl-C.
    const streams = { onOutput, onError, onEvent: refusals.onEvent, ...(io.signal ? { signal: io.signal } : {}) };
    const refresh = args.options.refresh === true;

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
            case "up":
                if (!yes) {
                    await s.preview({ ...streams, diff: true, policyPacks, refresh });
                    if (!(await ask("perform this update on"))) return 1;
                }
                await liftAllowed();
                await s.up({ ...streams, policyPacks, expectNoChanges, refresh, ...(message ? { message } : {}) });
                return 0;
            case "refresh":
                if (!(await ask("refresh"))) return 1;
                // The program runs too (pulumi refresh --run-program): stack outputs are the program's, computed from the
                // resources' outputs, so without it schemaDrift (and every other output) would keep its old value until the next up.
                // The resources' inputs stay those of the last up.
                await s.refresh({
                    ...streams,
                    expectNoChanges,
                    runProgram: args.options["skip-program"] !== true,
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

/**
 * Ctrl-C in a terminal reaches the engine's CLI too (one process group), which then
 * finishes the steps under way and stops; a second one makes it stop at once. This
 * process must stay up meanwhile (the program runs inline here: without it the
 * engine loses the program in the middle of the update), and must not signal the CLI
 * again (a second SIGINT). So the first SIGINT or SIGTERM here only says so; a second
 * one (or a signal sent to this process alone, twice) cancels the CLI itself.
 */
function interruptions(): AbortSignal {
    const controller = new AbortController();
    let seen = 0;
    const onSignal = () => {
        seen++;
        if (seen === 1) {
            process.stderr.write(
                "keel: interrupted: the engine finishes the steps under way and stops (interrupt again to cancel it now)\n",
            );
        } else controller.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    return controller.signal;
}

if (require.main === module) {
    const [command, ...argv] = process.argv.slice(2);
    if (!(COMMANDS as readonly string[]).includes(command)) {
        process.stderr.write(`usage: node dist/scripts/stack.js ${COMMANDS.join("|")} [<stack>] [options]\n`);
        process.exit(2);
    }
    runCommand(
        spec(command),
        async (args) => {
            return runStackCommand(command as Command, args, {
                root: process.cwd(),
                env: process.env,
                out: (t) => process.stdout.write(t),
                // The SDK's summary of a failed inline program adds nothing to the error it logged.
                err: (t) => process.stderr.write(t.replace(/^error: One or more errors occurred\. Check logs for more details\n?/m, "")),
                confirm: confirmOnTty,
                signal: interruptions(),
            });
        },
        argv,
    );
}
