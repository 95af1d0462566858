/**
 * What every benchmark shares: its options declared once through the operator commands' parser
 * (scripts/lib/cli.ts: --help answered, a wrong option a usage error with exit 2), positive
 * numeric options, and the median the figures are reported by.
 */
import { CommandSpec, ParsedCommandLine, runCommand, UsageError } from "../scripts/lib/cli";

/** Runs a benchmark's main as an operator command runs: exit 0 when it finishes, 1 with the error's message when it fails. */
export function runBench(spec: CommandSpec, main: (args: ParsedCommandLine) => Promise<void>): void {
    runCommand(spec, async (args) => {
        await main(args);
        return 0;
    });
}

/** A positive option's value (a whole number unless `fraction`), or `fallback` when it was not given. */
export function positiveOption(args: ParsedCommandLine, name: string, fallback: number, fraction = false): number {
    const given = args.options[name];
    if (given === undefined) return fallback;
    const v = Number(given);
    if (!Number.isFinite(v) || v <= 0 || (!fraction && !Number.isInteger(v)))
        throw new UsageError(`--${name} expects a positive ${fraction ? "number" : "whole number"}, got '${given}'`);
    return v;
}

export function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
