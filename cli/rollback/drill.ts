/** keel rollback drill: the stack back to its previous version and forward again, both timed (scripts/rollbackDrill.ts). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { yesOption } from "../options";

export function rollbackDrillCommand(cli: KeelContext) {
    return new Command("drill")
        .description(
            "Practises a rollback: rolls the stack back to its previous successful version, then forward to the version it was at " +
                "(both as npm run rollback -- --to <version> does it), times both ways and records them beside the state. " +
                "Refuses prod-stage stacks unless --allow-prod, and a stack with no previous version.",
        )
        .requiredOption("-s, --stack <stack>", "the stack to drill (staging, or another non-prod stack)")
        .addOption(yesOption("go ahead without asking (needed without a terminal)"))
        .option("--allow-prod", "drill a prod-stage stack too: real users meet the previous version until the way forward ends")
        .action(async (o) => {
            const { runRollbackDrill } = await import("../../scripts/rollbackDrill");
            cli.exitCode = await runRollbackDrill(
                { stack: o.stack, yes: o.yes === true, allowProd: o.allowProd === true },
                {
                    root: cli.root,
                    env: cli.env,
                    out: (l) => cli.out(`${l}\n`),
                    confirm: cli.confirm,
                    ask: cli.ask ?? (async () => undefined),
                    now: () => Date.now(),
                },
            );
        });
}
