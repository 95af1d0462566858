/** keel schema adopt --from <tool>: a database another tool migrated, taken over (npm run schema:adopt). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { namedStackOption, urlOption, yesOption } from "../options";

export function adoptCommand(cli: KeelContext) {
    return new Command("adopt")
        .description(
            "Takes over a database another tool migrated: writes its migrations as Keel's files (in its order) into the stack's migrations " +
                "directory, which must hold none yet, and records the applied ones in keel_schema_history, in one transaction. " +
                "Refuses, writing nothing, when the tool's history has a failed or rolled-back migration, an applied one without its file, or an edited file.",
        )
        .option("--from <tool>", "the tool whose history to adopt (the tools are listed below)")
        .option("--dir <path>", "its migrations directory (default: the tool's own, listed below)")
        .addHelpText("after", toolsHelp)
        .option("--table <[schema.]name>", "its history table (default: the tool's own name, found through the search_path)")
        .addOption(namedStackOption("whose keel:migrations settings apply (default: dev)"))
        .addOption(urlOption("the database (default: the stack's own, its output databaseUrl); a direct URL, not a pooled one"))
        .option("--out <path>", "where to write Keel's files (default: the stack's keel:migrations.dir)")
        .option("--history-schema <name>", "schema of keel_schema_history (default: the stack's)")
        .addOption(yesOption("go ahead without asking (needed without a terminal)"))
        .action(async (o) => {
            const { runAdopt } = await import("../../scripts/schemaAdopt");
            cli.exitCode = await runAdopt(
                {
                    from: o.from,
                    dir: o.dir,
                    table: o.table,
                    stack: o.stack,
                    url: o.url,
                    out: o.out,
                    historySchema: o.historySchema,
                    yes: o.yes === true,
                },
                { root: cli.root, env: cli.env, out: (l) => cli.out(`${l}\n`), confirm: cli.confirm },
            );
        });
}

/** The tools --from takes and their default directories: read when the help is shown (the tools' modules load the SQL parser). */
function toolsHelp(): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { TOOLS } = require("../../components/schema/adopt") as typeof import("../../components/schema/adopt");
    return `\nTools (--from) and their migrations directories (--dir's default):\n${Object.entries(TOOLS)
        .map(([name, tool]) => `  ${name.padEnd(16)}${tool.defaultDir}`)
        .join("\n")}\n`;
}
