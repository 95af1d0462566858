/**
 * What up, preview, refresh and destroy share: Keel's program through the engine on one
 * stack, named as the argument (`keel stack up prod`, as `npm run up -- prod` always took it)
 * or with --stack, and the engine's flags.
 */
import { Command, Option } from "@commander-js/extra-typings";
import type { StackCommand } from "../../scripts/stack";
import { UsageError } from "../../scripts/lib/usageError";
import { KeelContext } from "../cli";
import { namedStackOption, yesOption } from "../options";

export function engineVerb(command: StackCommand, extraSummary: string, cli: KeelContext) {
    return new Command(command)
        .description(
            `Runs pulumi ${command} of Keel's program on <stack> (default dev), with the state in .pulumi-state/ unless PULUMI_BACKEND_URL is set. ` +
                `Outside dev, PULUMI_CONFIG_PASSPHRASE must be set.${extraSummary}`,
        )
        .argument("[stack]", "the stack (the same as --stack)")
        .addOption(namedStackOption())
        .addOption(yesOption("go ahead without asking (dev and CI=true never ask)"))
        .option("-m, --message <text>", "the update's message in pulumi stack history")
        .option("--expect-no-changes", "fail when the preview or update would change anything (drift checks)")
        .option("--refresh", "refresh the state from the cloud first (up, preview)")
        .option("--policy-pack <dir>", "the policy pack to run (default: policies/ for stacks whose stage is not dev)")
        .addOption(
            new Option(
                "--skip-program",
                "refresh without running the program (when it cannot run); stack outputs such as schemaDrift then keep their values until the next up",
            ).hideHelp(command !== "refresh"),
        )
        .action(async (positional, o) => {
            if (positional !== undefined && o.stack !== undefined)
                throw new UsageError("give the stack once: as the argument or with --stack");
            if (o.skipProgram && command !== "refresh") throw new UsageError("--skip-program goes with refresh");
            const { runStackCommand } = await import("../../scripts/stack");
            cli.exitCode = await runStackCommand(
                command,
                {
                    stack: positional ?? o.stack ?? "dev",
                    yes: o.yes === true,
                    message: o.message,
                    expectNoChanges: o.expectNoChanges === true,
                    refresh: o.refresh === true,
                    policyPack: o.policyPack,
                    skipProgram: o.skipProgram === true,
                },
                {
                    root: cli.root,
                    env: cli.env,
                    out: cli.out,
                    // The SDK's summary of a failed inline program adds nothing to the error it logged.
                    err: (t) => cli.err(t.replace(/^error: One or more errors occurred\. Check logs for more details\n?/m, "")),
                    confirm: cli.confirm,
                    ...(cli.interruptions ? { signal: cli.interruptions() } : {}),
                },
            );
        });
}
