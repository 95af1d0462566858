/**
 * keel: Keel's one command line. A folder per noun (`db`, `schema`, `stack`, …),
 * a file per verb, the shared flags in options.ts; on commander 14 (the line that
 * still runs on Node 20, maintained, no dependencies of its own, typed flags
 * through @commander-js/extra-typings; completion is generated from the same tree).
 *
 * Exit codes: 0 after --help, 2 for a usage error (with the usage), 1 for any
 * other error (its message; KEEL_DEBUG=1 adds the stack trace), else the verb's.
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { KeelContext } from "./cli";
import { UsageError } from "../scripts/lib/usageError";
import { benchCommand } from "./bench";
import { completionCommand } from "./completion";
import { dbCommand } from "./db";
import { deployCommand } from "./deploy";
import { devCommand } from "./dev";
import { driftCommand } from "./drift";
import { hooksCommand } from "./hooks";
import { interruptions } from "./interruptions";
import { issueCommand } from "./issue";
import { metricsCommand } from "./metrics";
import { monitorCommand } from "./monitor";
import { preflightCommand } from "./preflight";
import { prCommand } from "./pr";
import { pulumiCommand } from "./pulumi";
import { commandsIn } from "./reference";
import { releaseCommand } from "./release";
import { rollbackCommand } from "./rollback";
import { schemaCommand } from "./schema";
import { stackCommand } from "./stack";

/** The whole tree: every noun and its verbs. */
export function keelProgram(cli: KeelContext): Command {
    const program = new Command("keel")
        .enablePositionalOptions()
        .description("Keel: one Pulumi program for a small product's whole platform, and the commands to operate it.")
        .addCommand(stackCommand(cli))
        .addCommand(prCommand(cli))
        .addCommand(pulumiCommand(cli))
        .addCommand(dbCommand(cli))
        .addCommand(schemaCommand(cli))
        .addCommand(devCommand(cli))
        .addCommand(rollbackCommand(cli))
        .addCommand(driftCommand(cli))
        .addCommand(metricsCommand(cli))
        .addCommand(preflightCommand(cli))
        .addCommand(hooksCommand(cli))
        .addCommand(deployCommand(cli))
        .addCommand(monitorCommand(cli))
        .addCommand(issueCommand(cli))
        .addCommand(releaseCommand(cli))
        .addCommand(benchCommand(cli));
    // Last: its scripts are generated from the tree above.
    program.addCommand(completionCommand(program, cli));
    // Every verb at a glance under the nouns, so that `keel --help` names every command there is.
    program.addHelpText("after", () => `\nEvery command (keel <command> --help for its options; docs/commands.md):\n${verbList(program)}`);
    return program;
}

/** One line per noun: `  keel db url|backups|backup|…`, from the tree. */
function verbList(program: Command): string {
    const byNoun = new Map<string, string[]>();
    for (const { name } of commandsIn(program)) {
        const [, noun, verb] = name.split(" ");
        byNoun.set(noun, [...(byNoun.get(noun) ?? []), ...(verb ? [verb] : [])]);
    }
    return [...byNoun].map(([noun, verbs]) => `  keel ${noun}${verbs.length ? ` ${verbs.join("|")}` : ""}\n`).join("");
}

/** Applies the same output and exit rules to a command and all below it. */
function configure(command: Command, cli: KeelContext): void {
    command
        .exitOverride()
        .showHelpAfterError()
        .configureOutput({ writeOut: cli.out, writeErr: (t) => cli.err(cli.redact(t)) });
    for (const sub of command.commands) configure(sub as Command, cli);
}

/** Runs one command line; resolves with the exit code, never exits the process. */
export async function runKeel(argv: string[], cli: KeelContext): Promise<number> {
    const program = keelProgram(cli);
    configure(program, cli);
    // The verb that runs: a usage error its own checks find is answered with its usage, as the parser's are.
    let running: Command | undefined;
    program.hook("preAction", (_program, verb) => void (running = verb as Command));
    try {
        await program.parseAsync(argv, { from: "user" });
        return cli.exitCode;
    } catch (err) {
        if (err instanceof CommanderError) {
            // --help and `keel help` end with 0; a bare noun (its help on stderr) and every parse problem are usage errors.
            return err.exitCode === 0 ? 0 : 2;
        }
        if (err instanceof UsageError) {
            // Found by the verb's own checks (a missing or conflicting option): a usage error too.
            cli.err(`error: ${cli.redact(err.message)}\n\n${running ? running.helpInformation() : "(keel --help lists the commands)\n"}`);
            return 2;
        }
        const text = cli.env.KEEL_DEBUG && err instanceof Error && err.stack ? err.stack : err instanceof Error ? err.message : String(err);
        cli.err(`error: ${cli.redact(text)}\n`);
        return 1;
    }
}

/** The process's keel: stdio, the terminal's confirm, exit with the command's code. */
export function main(argv = process.argv.slice(2)): void {
    const cli: KeelContext = {
        root: process.cwd(),
        env: process.env,
        out: (t) => void process.stdout.write(t),
        err: (t) => void process.stderr.write(t),
        // The terminal's prompts load when a verb asks: `keel --help` loads no verb's code.
        confirm: async (q) => (await import("../scripts/lib/prompt")).confirmOnTty(q),
        ask: async (q) => (await import("../scripts/lib/prompt")).askOnTty(q),
        exitCode: 0,
        redact: (t) => t,
        interruptions,
    };
    runKeel(argv, cli).then((code) => process.exit(code));
}

if (require.main === module) main();
