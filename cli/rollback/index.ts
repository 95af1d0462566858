/**
 * keel rollback --stack <stack> [--to <target> | --previous | --unlock]: the noun itself is a verb
 * (npm run rollback): the stack's deploys without a target, else the stack rolled back to one.
 * keel rollback drill --stack <stack>: back to the previous version and forward again (./drill.ts).
 */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { jsonOption, namedStackOption, yesOption } from "../options";
import { rollbackDrillCommand } from "./drill";

export function rollbackCommand(cli: KeelContext) {
    return (
        new Command("rollback")
            // `keel rollback drill --stack s`: the drill's own flags, not the rollback's.
            .enablePositionalOptions()
            .addCommand(rollbackDrillCommand(cli))
            .description(
                "Lists the stack's deploys (no target), or rolls the stack back to a successful one: its code and infrastructure from its git commit, " +
                    "the backend through the normal rollout and health gate, the schema kept ahead unless --with-data restores the backup taken before it.",
            )
            .addOption(namedStackOption("the stack (required)"))
            .option("--to <target>", "the version the list shows, or a unique prefix of a successful update's git commit")
            .option("--previous", "the last successful update before the current state")
            .option("--with-data", "also restore the schema and data from the backup taken before the first migration after the target")
            .option("--keep-schema", "keep the newer schema even where the plan flags migrations the old code may not survive")
            .option("--keep-frontend", "go ahead when the frontend cannot be rolled back (leaves it as it is)")
            .addOption(yesOption("go ahead without asking (needed without a terminal)"))
            .addOption(jsonOption("with no target: print the deploys as JSON"))
            .option("--unlock", "remove the stack's rollback lock that a killed rollback left behind (says whose it was), and nothing else")
            .action(async (o) => {
                const { runRollback } = await import("../../scripts/rollback");
                cli.exitCode = await runRollback(
                    {
                        stack: o.stack,
                        to: o.to,
                        previous: o.previous === true,
                        withData: o.withData === true,
                        keepSchema: o.keepSchema === true,
                        keepFrontend: o.keepFrontend === true,
                        yes: o.yes === true,
                        json: o.json === true,
                        unlock: o.unlock === true,
                    },
                    {
                        root: cli.root,
                        env: cli.env,
                        out: (l) => cli.out(`${l}\n`),
                        confirm: cli.confirm,
                        ask: cli.ask ?? (async () => undefined),
                        now: () => Date.now(),
                    },
                );
            })
    );
}
