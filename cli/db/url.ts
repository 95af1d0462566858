/** keel db url: prints the stack's database URL and nothing else, for tools (psql "$(./keel db url)"). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { stackOption } from "../options";

export function urlCommand(cli: KeelContext) {
    return new Command("url")
        .description(
            "Prints the stack's direct database URL (its output databaseUrl, through the engine) and nothing else, for tools: " +
                'psql "$(./keel db url)". Outside dev, PULUMI_CONFIG_PASSPHRASE must be set.',
        )
        .addOption(stackOption())
        .option("--pooled", "the pooled URL the app uses (databasePooledUrl) instead of the direct one")
        .action(async (o) => {
            const { dbUrl } = await import("../../scripts/dbUrl");
            cli.exitCode = await dbUrl({ stack: o.stack, pooled: o.pooled === true }, { root: cli.root, env: cli.env, print: cli.out });
        });
}
