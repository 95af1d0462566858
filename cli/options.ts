/**
 * The flags several verbs take, declared once with their types: `--stack`,
 * `--yes`, `--json`, `--url`. A verb adds the ones it takes with `addOption`.
 */
import { InvalidArgumentError, Option } from "@commander-js/extra-typings";

/** `--stack <stack>`, default dev. */
export const stackOption = (help = "the stack (dev, staging, prod, or another with a Pulumi.<stack>.yaml)") =>
    new Option("-s, --stack <stack>", help).default("dev");

/** `--stack <stack>` with no default: for the verbs that take the stack as an argument too, or that need it named. */
export const namedStackOption = (help = "the stack (dev, staging, prod, or another with a Pulumi.<stack>.yaml)") =>
    new Option("-s, --stack <stack>", help);

/** `--yes`: go ahead without asking. */
export const yesOption = (help = "go ahead without asking") => new Option("-y, --yes", help);

/** `--json`: the result as one JSON document on stdout. */
export const jsonOption = (help = "print the result as JSON on stdout") => new Option("--json", help);

/** `--url <url>`: a database URL that wins over the stack's own. */
export const urlOption = (help = "the database URL to use instead of the stack's own (its output databaseUrl)") =>
    new Option("--url <postgres-url>", help);

/** A positive number option's parser (a whole number unless `fraction`): a usage error (exit 2) names the flag. */
export function positiveNumber(fraction = false): (value: string) => number {
    return (value) => {
        const v = Number(value);
        if (!Number.isFinite(v) || v <= 0 || (!fraction && !Number.isInteger(v)))
            throw new InvalidArgumentError(`expects a positive ${fraction ? "number" : "whole number"}, got '${value}'`);
        return v;
    };
}
