/** What start, stop and logs share: the stack whose database runs on this machine, and the façade (scripts/dev.ts). */
import { Command } from "@commander-js/extra-typings";
import type { DevCommand, DevOptions } from "../../scripts/dev";
import { KeelContext } from "../cli";
import { stackOption } from "../options";

/** A verb of keel dev on a stack's local or docker database. */
export const devVerb = (name: DevCommand) => new Command(name).addOption(stackOption("the stack whose database it is"));

export async function runDevVerb(command: DevCommand, options: DevOptions, cli: KeelContext): Promise<void> {
    const { runDevCommand } = await import("../../scripts/dev");
    cli.exitCode = await runDevCommand(command, options, {
        root: cli.root,
        env: cli.env,
        out: cli.out,
        up: (stack) => engineUp(stack, cli),
    });
}

/** The engine's `up` of a stack, as `keel stack up <stack> --yes` runs it: dev start creates a dev stack's database with it. */
async function engineUp(stack: string, cli: KeelContext): Promise<void> {
    const { runStackCommand } = await import("../../scripts/stack");
    await runStackCommand(
        "up",
        { stack, yes: true },
        { root: cli.root, env: cli.env, out: cli.out, err: cli.out, confirm: async () => true },
    );
}
