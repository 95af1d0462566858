/**
 * The keel command line in a test, without a process: runKeel with a context that
 * collects what it prints, and a verb's command line parsed by the real tree into
 * the values its action receives (to call the façade with them directly).
 */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../../cli/cli";
import { keelProgram, runKeel } from "../../cli/main";

export interface KeelRun {
    code: number;
    out: string;
    err: string;
}

/** A context on `root` whose output is collected; nobody answers a question unless `answer` does. */
export function testContext(
    root: string,
    env: Record<string, string | undefined> = {},
    answer = false,
): KeelContext & { output: { out: string; err: string } } {
    const output = { out: "", err: "" };
    return {
        root,
        env,
        out: (t) => void (output.out += t),
        err: (t) => void (output.err += t),
        confirm: async () => answer,
        ask: async () => undefined,
        exitCode: 0,
        redact: (t) => t,
        output,
    };
}

/** `keel <argv>` in `root`: its exit code and what it printed. */
export async function keel(argv: string[], root = process.cwd(), env: Record<string, string | undefined> = {}): Promise<KeelRun> {
    const cli = testContext(root, env);
    const code = await runKeel(argv, cli);
    return { code, ...cli.output };
}

/** The command at `path` (`["db", "url"]`) in a tree. */
export function commandAt(program: Command<any, any, any>, path: string[]): Command<any, any, any> {
    let command = program;
    for (const name of path) {
        const next = command.commands.find((c) => c.name() === name) as Command<any, any, any> | undefined;
        if (!next) throw new Error(`keel has no '${path.join(" ")}'`);
        command = next;
    }
    return command;
}

/**
 * The values the verb at `path` gets for `argv`: its positional arguments and its options (camelCase,
 * flags true when given, defaults filled in). Throws the parser's error on a usage error.
 */
export async function parseVerb(path: string[], argv: string[]): Promise<{ args: unknown[]; options: Record<string, any> }> {
    const cli = testContext(process.cwd());
    const program = keelProgram(cli);
    const silence = (c: Command<any, any, any>) => {
        c.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
        for (const sub of c.commands) silence(sub as Command<any, any, any>);
    };
    silence(program);
    let seen: { args: unknown[]; options: Record<string, any> } | undefined;
    commandAt(program, path).action((...values: unknown[]) => {
        // commander passes the arguments, then the options, then the command.
        seen = { args: values.slice(0, -2), options: values[values.length - 2] as Record<string, any> };
    });
    await program.parseAsync([...path, ...argv], { from: "user" });
    if (!seen) throw new Error(`keel ${path.join(" ")} did not run`);
    return seen;
}
