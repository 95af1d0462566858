/**
 * What every operator command shares: its options declared once (they make the
 * usage text and the parser), `--help`/`-h` answered with exit 0, a wrong
 * option answered with the usage and exit 2, and errors printed as their
 * message (Keel's errors carry the fix; KEEL_DEBUG=1 adds the stack trace).
 */
import { KeelError } from "../../components/errors";

export interface OptionSpec {
    /** Long name without dashes: `stack` for `--stack`. */
    name: string;
    short?: string;
    /** Placeholder of the value it takes (`<stack>`); a flag when absent. */
    value?: string;
    help: string;
    /** May be given more than once (`--stack dev --stack prod`): every value is in `values`. */
    repeatable?: boolean;
}

export interface CommandSpec {
    /** `npm run up -- [<stack>] [options]` */
    usage: string;
    /** One or two sentences: what the command does. */
    summary: string;
    options: OptionSpec[];
    /** How many positional arguments it takes at most (default 0). */
    maxPositionals?: number;
}

export class UsageError extends KeelError {
    constructor(message: string) {
        super(message, "UsageError");
    }
}

export interface ParsedCommandLine {
    /** Values of options with a value (the last one given), `true` for flags given. */
    options: Record<string, string | true | undefined>;
    /** Every value given to each option that takes one, in order. */
    values?: Record<string, string[]>;
    positionals: string[];
    help: boolean;
}

export function usageText(spec: CommandSpec): string {
    const width = Math.max(...spec.options.map((o) => optionLabel(o).length), 10);
    return [
        `usage: ${spec.usage}`,
        "",
        spec.summary,
        "",
        ...spec.options.map((o) => `  ${optionLabel(o).padEnd(width)}  ${o.help}${o.repeatable ? " (repeatable)" : ""}`),
        `  ${"-h, --help".padEnd(width)}  this text`,
    ].join("\n");
}

function optionLabel(o: OptionSpec): string {
    return `${o.short ? `-${o.short}, ` : ""}--${o.name}${o.value ? ` ${o.value}` : ""}`;
}

export function parseCommandLine(argv: string[], spec: CommandSpec): ParsedCommandLine {
    const options: Record<string, string | true | undefined> = {};
    const values: Record<string, string[]> = {};
    const positionals: string[] = [];
    let help = false;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "-h" || arg === "--help") {
            help = true;
            continue;
        }
        if (arg === "--") {
            positionals.push(...argv.slice(i + 1));
            break;
        }
        if (!arg.startsWith("-") || arg === "-") {
            positionals.push(arg);
            continue;
        }
        const [flag, inline] = arg.startsWith("--") ? splitOnce(arg.slice(2), "=") : [arg.slice(1), undefined];
        const spec_ = arg.startsWith("--") ? spec.options.find((o) => o.name === flag) : spec.options.find((o) => o.short === flag);
        if (!spec_) throw new UsageError(`unknown option '${arg}'`);
        if (!spec_.value) {
            if (inline !== undefined) throw new UsageError(`--${spec_.name} takes no value`);
            options[spec_.name] = true;
            continue;
        }
        const value = inline ?? argv[++i];
        if (value === undefined || (inline === undefined && value.startsWith("-")))
            throw new UsageError(`--${spec_.name} needs a value ${spec_.value}`);
        options[spec_.name] = value;
        (values[spec_.name] ??= []).push(value);
    }
    const max = spec.maxPositionals ?? 0;
    if (!help && positionals.length > max) {
        throw new UsageError(max === 0 ? `unexpected argument '${positionals[0]}'` : `unexpected argument '${positionals[max]}'`);
    }
    return { options, values, positionals, help };
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
    const at = s.indexOf(sep);
    return at < 0 ? [s, undefined] : [s.slice(0, at), s.slice(at + 1)];
}

/** Where a command writes: its output, and its errors and usage problems. */
export interface CommandStreams {
    out(text: string): void;
    err(text: string): void;
}

const STDIO: CommandStreams = {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
};

/**
 * Parses the command line and runs main, without exiting: 0 after --help (the
 * usage on out), 2 on a usage error (the error and the usage on err), else
 * main's exit code. Any other error is main's to throw.
 */
export async function runCommandLine(
    spec: CommandSpec,
    main: (args: ParsedCommandLine) => Promise<number>,
    argv: string[],
    streams: CommandStreams = STDIO,
): Promise<number> {
    try {
        const args = parseCommandLine(argv, spec);
        if (args.help) {
            streams.out(`${usageText(spec)}\n`);
            return 0;
        }
        return await main(args);
    } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        streams.err(`error: ${err.message}\n\n${usageText(spec)}\n`);
        return 2;
    }
}

export interface RunOptions {
    /** Applied to an error's text before it is printed (a command that must never print a secret masks it here). */
    redact?: (text: string) => string;
}

/**
 * Runs a command's main and exits: 0 after --help, 2 on a usage error (with the
 * usage), 1 on any other error (its message), else main's exit code.
 */
export function runCommand(
    spec: CommandSpec,
    main: (args: ParsedCommandLine) => Promise<number>,
    argv = process.argv.slice(2),
    options: RunOptions = {},
): void {
    const redact = options.redact ?? ((text: string) => text);
    runCommandLine(spec, main, argv, { out: STDIO.out, err: (text) => STDIO.err(redact(text)) }).then(
        (code) => process.exit(code),
        (err) => {
            process.stderr.write(`error: ${redact(String(process.env.KEEL_DEBUG && err?.stack ? err.stack : (err?.message ?? err)))}\n`);
            process.exit(1);
        },
    );
}

/**
 * A script of several commands (`db.js backups|restore|…`): the first argument
 * picks the command's spec. Without a known command, every usage is printed:
 * on stdout with exit 0 for --help, else on stderr with exit 2.
 */
export function runSubcommand(
    specs: Record<string, CommandSpec>,
    main: (command: string, args: ParsedCommandLine) => Promise<number>,
    argv = process.argv.slice(2),
    options: RunOptions = {},
): void {
    const [command, ...rest] = argv;
    const spec = Object.prototype.hasOwnProperty.call(specs, command) ? specs[command] : undefined;
    if (!spec) {
        const usage = Object.values(specs)
            .map((s) => usageText(s))
            .join("\n\n");
        const help = command === "-h" || command === "--help";
        (help ? process.stdout : process.stderr).write(
            `${help ? "" : `error: ${command ? `unknown command '${command}'` : "no command given"}\n\n`}${usage}\n`,
        );
        process.exit(help ? 0 : 2);
    }
    runCommand(spec, (args) => main(command, args), rest, options);
}
