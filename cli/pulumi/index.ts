/**
 * keel pulumi <pulumi arguments>: the pinned Pulumi CLI on Keel's state backend, every argument
 * passed through as given (npm run pulumi -- …). No verbs of its own: the words after it are Pulumi's.
 */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";

export function pulumiCommand(cli: KeelContext) {
    return (
        new Command("pulumi")
            .description(
                "Runs the Pulumi CLI on Keel's state backend (.pulumi-state/, or PULUMI_BACKEND_URL) with the dev stack selected " +
                    "unless --stack is given. Example: keel pulumi stack output databaseUrl --show-secrets",
            )
            .argument("[args...]", "the Pulumi CLI's arguments")
            // Pulumi's own flags (--show-secrets, --stack, --help) are Pulumi's to read.
            .helpOption(false)
            .allowUnknownOption()
            .allowExcessArguments()
            .passThroughOptions()
            .action(async (args) => {
                const { runPulumi } = await import("../../scripts/pulumi");
                cli.exitCode = runPulumi(args, {
                    root: cli.root,
                    env: cli.env,
                    out: cli.out,
                    err: cli.err,
                });
            })
    );
}
