/** keel schema status: every migration, applied, failed or pending (npm run schema:status). */
import { KeelContext } from "../cli";
import { jsonOption } from "../options";
import { runningValues, schemaIo, schemaVerb, withRunningOptions } from "./options";

export function statusCommand(cli: KeelContext) {
    return withRunningOptions(schemaVerb("status"))
        .description(
            "Lists every migration: applied, failed or running (needs resolving), and pending with its destructive statements. Changes nothing; exits 1 when the files and the history disagree.",
        )
        .option("--fingerprint", "also print the schema fingerprint (reads the whole catalog)")
        .addOption(jsonOption("print the report as one JSON document (its problems in it, exit 1 when there are any)"))
        .action(async (o) => {
            const { schemaStatus } = await import("../../scripts/schema");
            cli.exitCode = await schemaStatus(
                {
                    stack: o.stack,
                    url: o.url,
                    dir: o.dir,
                    historySchema: o.historySchema,
                    ...runningValues(o),
                    fingerprint: o.fingerprint === true,
                    json: o.json === true,
                },
                schemaIo(cli),
            );
        });
}
