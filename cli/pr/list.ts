/** keel pr list: every preview, its age, expiry, URLs and costs (npm run pr:list). */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { fromOption, prIo } from "./prOptions";

export function listCommand(cli: KeelContext) {
    return new Command("list")
        .description("Lists every preview in the state backend: pull request, branch, age, expiry, backend URL, and what it costs to keep.")
        .addOption(fromOption())
        .option("--json", "the rows as JSON")
        .action(async (o) => {
            const { prList } = await import("../../scripts/prList");
            cli.exitCode = await prList({ from: o.from, json: o.json === true }, prIo(cli));
        });
}
