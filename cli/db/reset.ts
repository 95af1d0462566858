/** keel db reset --stack <stack>: a Neon stack's branch gets a fresh, sanitized copy of its parent's data (npm run db:reset). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { stopOnInterrupt } from "./stopOnInterrupt";
import { namedStackOption, yesOption } from "../options";

export function resetCommand(cli: KeelContext) {
    return new Command("reset")
        .description(
            "Gives a Neon stack that branches off another (staging) a fresh copy of its parent's data (prod): through a temporary branch " +
                "sanitized by keel:database.neon.sanitizeSql, keeping its previous state as a branch. Prints the plan and asks first. " +
                "(The dev database's reset is keel dev reset.)",
        )
        .addOption(namedStackOption("the stack (required)"))
        .addOption(yesOption("go ahead without asking (needed without a terminal)"))
        .action(async (o) => {
            const { dbReset } = await import("../../scripts/dbReset");
            cli.exitCode = await dbReset(
                { stack: o.stack, yes: o.yes === true },
                {
                    root: cli.root,
                    env: cli.env,
                    out: (l) => cli.out(`${l}\n`),
                    confirm: cli.confirm,
                    interruptible: () => stopOnInterrupt((l) => cli.err(l)),
                },
            );
        });
}
