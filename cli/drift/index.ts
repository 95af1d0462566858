/** keel drift [<stack>...]: every stack (or those named) refreshed in preview mode, and what drifted (npm run drift). */
import { Command, Option } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { jsonOption } from "../options";

export function driftCommand(cli: KeelContext) {
    return new Command("drift")
        .description(
            "Refreshes every stack with a Pulumi.<stack>.yaml (or each --stack) in preview mode through the engine, changing nothing, and prints " +
                "what changed outside Keel, the schema's drift and the pending migrations, with the command that settles each. " +
                "Exit 0: all clean (or never deployed); 1: drift; 2: a stack could not be checked.",
        )
        .argument("[stacks...]", "stacks to check, as --stack names them")
        .addOption(
            new Option("-s, --stack <stack>", "a stack to check (repeatable)")
                .argParser((value: string, previous: string[]) => [...previous, value])
                .default([] as string[], "every Pulumi.<stack>.yaml"),
        )
        .addOption(jsonOption("print the result as JSON (progress lines go to stderr)"))
        .option("--markdown <file>", "also write the result as Markdown to <file> (the drift workflow's issue body)")
        .action(async (stacks, o) => {
            const { drift } = await import("../../scripts/drift");
            cli.exitCode = await drift(
                { stacks: [...o.stack, ...stacks], json: o.json === true, markdown: o.markdown },
                { root: cli.root, env: cli.env, out: cli.out, err: cli.err },
            );
        });
}
