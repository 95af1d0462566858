/** keel schema diff <a> <b>: two databases' schemas and histories compared (npm run schema:diff). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { jsonOption } from "../options";

export function diffCommand(cli: KeelContext) {
    return new Command("diff")
        .description(
            "Compares two databases' schema objects and migration histories; each side is a stack (its databaseUrl output) or a postgres:// URL. " +
                "Exit 0 when equal, 1 when they differ, 2 when a side cannot be read. Only reads.",
        )
        .argument("[sides...]", "<a> <b>: two stacks or postgres:// URLs")
        .option(
            "--sql",
            "print the DDL that would create on <b> the objects only <a> has (a migration's starting point; nothing is applied)",
        )
        .addOption(jsonOption("print the comparison as JSON"))
        .option(
            "--history-schema <name>",
            "schema of keel_schema_history (default: a stack's keel:migrations.historySchema; public for a URL)",
        )
        .action(async (sides, o) => {
            const { schemaDiff } = await import("../../scripts/schemaDiff");
            cli.exitCode = await schemaDiff(
                { sides, sql: o.sql === true, json: o.json === true, historySchema: o.historySchema },
                { root: cli.root, env: cli.env, out: cli.out, err: cli.err },
            );
        });
}
