/** keel pr down: removes a pull request's preview, everything pr up made (npm run pr:down). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { fromOption, prIo, prOption } from "./prOptions";

export function downCommand(cli: KeelContext) {
    return new Command("down")
        .description(
            "Removes the preview of a pull request: every resource of the stack pr-<n> (its Neon branch or database, backend, " +
                "Vercel variable, GitHub environment), then the stack and its file. Only a preview stack is ever removed here.",
        )
        .addOption(prOption())
        .addOption(fromOption())
        .action(async (o) => {
            const { prDown } = await import("../../scripts/prDown");
            cli.exitCode = await prDown({ pr: o.pr, from: o.from }, prIo(cli));
        });
}
