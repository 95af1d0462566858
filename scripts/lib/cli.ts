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
    values: Record<string, string[]>;
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

/**
 * Runs a command's main and exits: 0 after --help, 2 on a usage error (with the
 * usage), 1 on any other error (its message), else main's exit code.
 */
export function runCommand(spec: CommandSpec, main: (args: ParsedCommandLine) => Promise<number>, argv = process.argv.slice(2)): void {
    const run = async (): Promise<number> => {
        const args = parseCommandLine(argv, spec);
        if (args.help) {
            process.stdout.write(`${usageText(spec)}\n`);
            return 0;
        }
        return main(args);
    };
    run().then(
        (code) => process.exit(code),
        (err) => {
            if (err instanceof UsageError) {
                process.stderr.write(`error: ${err.message}\n\n${usageText(spec)}\n`);
                process.exit(2);
            }
            process.stderr.write(`error: ${process.env.KEEL_DEBUG && err?.stack ? err.stack : (err?.message ?? err)}\n`);
            process.exit(1);
        },
    );
}
