/** keel pr reap: removes the previews of closed and expired pull requests, and every preview object no stack owns (npm run pr:reap). */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import type { PrReapIo } from "../../scripts/prReap";
import { KeelContext } from "../cli";
import { yesOption } from "../options";
import { prOfStack } from "../../components/previews/naming";
import { prIo } from "./prOptions";

/** `--open 3,17`: the open pull requests; `none` says none is open (an empty value is refused: a failed lookup must not reap all). */
export function parseOpenPrs(value: string): number[] {
    if (value.trim() === "none") return [];
    const parts = value.split(",").map((p) => p.trim());
    if (!value.trim() || parts.some((p) => !/^[1-9][0-9]{0,8}$/.test(p)))
        throw new InvalidArgumentError(`expects pull request numbers separated by commas (3,17), or none; got '${value}'`);
    return [...new Set(parts.map(Number))];
}

/** How the reaper removes a whole preview stack with what its state holds: `keel pr down`. */
function removePreviewStack(cli: KeelContext, from: string): PrReapIo["removeStack"] {
    return async (stack) => {
        const pr = prOfStack(stack);
        if (pr === undefined) throw new Error(`${stack} is not a preview stack`);
        const { prDown } = await import("../../scripts/prDown");
        await prDown({ pr, from }, prIo(cli));
    };
}

export function reapCommand(cli: KeelContext) {
    return new Command("reap")
        .description(
            "Removes the previews of closed pull requests and the expired ones (keel pr down), and every Neon branch, Fly app, Render service, " +
                "GitHub environment and Vercel variable named as a Keel preview's that no preview stack owns. Never touches anything " +
                "not named as a preview's. Prints the plan and asks first; prints what it removed.",
        )
        .addOption(new Option("--from <stack>", "the base stack whose vendors hold the previews").default("staging"))
        .addOption(
            new Option(
                "--open <n,...>",
                "the open pull requests (none: no PR is open); default: read from GitHub (keel:github of the base, GITHUB_TOKEN)",
            ).argParser(parseOpenPrs),
        )
        .addOption(new Option("--dry-run", "print what would be removed, remove nothing"))
        .addOption(yesOption("go ahead without asking (needed without a terminal)"))
        .action(async (o) => {
            const { prReap } = await import("../../scripts/prReap");
            const removeStack = removePreviewStack(cli, o.from);
            cli.exitCode = await prReap(
                { from: o.from, ...(o.open ? { open: o.open } : {}), dryRun: o.dryRun === true, yes: o.yes === true },
                {
                    root: cli.root,
                    env: cli.env,
                    out: (l) => cli.out(`${l}\n`),
                    confirm: cli.confirm,
                    ...(removeStack ? { removeStack } : {}),
                },
            );
        });
}
