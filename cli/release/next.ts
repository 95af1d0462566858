/** keel release next: release.yml's step (components/operations/release.ts). */
import { Command } from "@commander-js/extra-typings";
import { annotatingErrors } from "../../components/operations/io";
import { releaseNext } from "../../components/operations/release";
import { KeelContext } from "../cli";
import { operationsIo } from "../operationsIo";

export function nextCommand(cli: KeelContext) {
    return new Command("next")
        .description(
            "Tags and releases the next semantic version at the commit (gh release create, GH_TOKEN): from the conventional commits since the " +
                "last vX.Y.Z tag, a `!` after the type or a BREAKING CHANGE footer is major, feat minor, fix or perf patch; " +
                "nothing else, or that version already released, releases nothing. Run by release.yml.",
        )
        .requiredOption("--target <commit>", "the commit to release (the deployed one)")
        .action(async (o) => {
            const io = operationsIo(cli);
            cli.exitCode = await annotatingErrors(io, () => releaseNext(o.target, io));
        });
}
