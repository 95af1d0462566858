/**
 * The flags the migration engine's verbs share: where the settings and the database come from
 * (--stack, --url, --dir, --history-schema), and a run's overrides of the stack's keel:migrations.
 */
import { Command, OptionValues } from "@commander-js/extra-typings";
import { stackOption, urlOption } from "../options";

/** A verb of keel schema with --stack, --url, --dir and --history-schema. */
export function schemaVerb(name: string) {
    return new Command(name)
        .addOption(stackOption("whose keel:migrations settings apply"))
        .addOption(
            urlOption(
                "the database (default: the stack's own, its output databaseUrl; DATABASE_URL for an external stack that reads it); a direct URL, not a pooled one",
            ),
        )
        .option("--dir <path>", "the migrations directory, for this run (default: the stack's keel:migrations.dir)")
        .option("--history-schema <name>", "schema of keel_schema_history, for this run (default: the stack's)");
}

/** The run's overrides of keel:migrations: lock waits, timeouts, allowMissing, outOfOrder, baseline. */
export function withRunningOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(command: Command<A, O, G>) {
    return command
        .option("--lock-wait <seconds>", "how long to wait for another runner (default: the stack's lockWaitSeconds)")
        .option("--lock-timeout <duration>", "SET LOCAL lock_timeout per file (default: the stack's)")
        .option("--statement-timeout <duration>", "SET LOCAL statement_timeout per file (default: the stack's)")
        .option("--allow-missing", "accept applied versions whose files are gone")
        .option("--out-of-order", "run new files older than the newest applied one")
        .option("--baseline <version>", "record versions up to this one as applied without running them");
}

/** The commander values of the running flags, as the façade's options. */
export function runningValues(o: {
    lockWait?: string;
    lockTimeout?: string;
    statementTimeout?: string;
    allowMissing?: true;
    outOfOrder?: true;
    baseline?: string;
}) {
    return {
        lockWait: o.lockWait,
        lockTimeout: o.lockTimeout,
        statementTimeout: o.statementTimeout,
        allowMissing: o.allowMissing === true,
        outOfOrder: o.outOfOrder === true,
        baseline: o.baseline,
    };
}

/** What the façades' SchemaIo is made of. */
export const schemaIo = (cli: { root: string; env: Record<string, string | undefined>; out(t: string): void }) => ({
    root: cli.root,
    env: cli.env,
    out: (l: string) => cli.out(`${l}\n`),
});
