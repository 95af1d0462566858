/** keel schema resolve <version> --applied|--rolled-back: a failed no-transaction migration settled (npm run schema:resolve). */
import { KeelContext } from "../cli";
import { schemaIo, schemaVerb } from "./options";

export function resolveCommand(cli: KeelContext) {
    return schemaVerb("resolve")
        .description(
            "Settles a keel:no-transaction migration recorded as failed or running: --applied when its changes are complete " +
                "(the file's checksum is recorded), --rolled-back once you have undone them (its row is removed; it runs again).",
        )
        .argument("[version]", "the migration's version")
        .option("--applied", "its changes are complete")
        .option("--rolled-back", "its changes were undone")
        .action(async (version, o) => {
            const { schemaResolve } = await import("../../scripts/schema");
            cli.exitCode = await schemaResolve(
                {
                    stack: o.stack,
                    url: o.url,
                    dir: o.dir,
                    historySchema: o.historySchema,
                    version,
                    applied: o.applied === true,
                    rolledBack: o.rolledBack === true,
                },
                schemaIo(cli),
            );
        });
}
