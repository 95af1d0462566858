/**
 * The flags several verbs take, declared once with their types: `--stack`,
 * `--yes`, `--json`, `--url`. A verb adds the ones it takes with `addOption`.
 */
import { Option } from "@commander-js/extra-typings";

/** `--stack <stack>`, default dev. */
export const stackOption = () =>
    new Option("-s, --stack <stack>", "the stack (dev, staging, prod, or another with a Pulumi.<stack>.yaml)").default("dev");

/** `--yes`: go ahead without asking. */
export const yesOption = () => new Option("-y, --yes", "go ahead without asking");

/** `--json`: the result as one JSON document on stdout. */
export const jsonOption = () => new Option("--json", "print the result as JSON on stdout");

/** `--url <url>`: a database URL that wins over the stack's own. */
export const urlOption = () => new Option("--url <url>", "the database URL to use instead of the stack's own (its output databaseUrl)");
