/** keel stack new <name> --stage <stage>: a stack's file and its stack in the state backend (npm run stack:new). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";

export function newCommand(cli: KeelContext) {
    return new Command("new")
        .description(
            "Adds a stack: writes Pulumi.<name>.yaml from the stage's file (database and migration settings, names of its own) and creates " +
                "the stack in the state backend with the passphrase secrets provider: dev's passphrase is empty unless PULUMI_CONFIG_PASSPHRASE " +
                "is set; staging and prod need PULUMI_CONFIG_PASSPHRASE. Refuses a name whose file or stack exists. " +
                "A pull request's preview (pr-<n>) is not made here: keel pr up --pr <n> makes it.",
        )
        .argument("[name]", "the new stack's name")
        .option("--stage <dev|staging|prod>", "whose defaults, checks and template the stack gets (required)")
        .action(async (name, o) => {
            const { stackNew } = await import("../../scripts/stackNew");
            cli.exitCode = await stackNew({ name, stage: o.stage }, { root: cli.root, env: cli.env, out: (l) => cli.out(`${l}\n`) });
        });
}
