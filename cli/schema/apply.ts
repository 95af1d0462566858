/** keel schema apply: the pending migrations (npm run schema:apply). */
import { KeelContext } from "../cli";
import { runningValues, schemaIo, schemaVerb, withRunningOptions } from "./options";

export function applyCommand(cli: KeelContext) {
    return withRunningOptions(schemaVerb("apply"))
        .description("Applies the pending migrations, one transaction per file (keel:no-transaction files statement by statement).")
        .action(async (o) => {
            const { schemaApply } = await import("../../scripts/schema");
            cli.exitCode = await schemaApply(
                { stack: o.stack, url: o.url, dir: o.dir, historySchema: o.historySchema, ...runningValues(o) },
                schemaIo(cli),
            );
        });
}
