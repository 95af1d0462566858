/** keel completion bash|zsh: a completion script for the shell, generated from the command tree. */
import { Command } from "@commander-js/extra-typings";
import { KeelContext } from "../cli";
import { bashCompletion, completionTree, zshCompletion } from "./scripts";

export function completionCommand(program: Command<any, any, any>, cli: KeelContext) {
    const tree = () => completionTree(program);
    return new Command("completion")
        .description("prints a shell completion script: source <(keel completion bash), or zsh's after compinit")
        .addCommand(
            new Command("bash").description("the completion script for bash").action(() => {
                cli.out(bashCompletion(tree()));
            }),
        )
        .addCommand(
            new Command("zsh").description("the completion script for zsh").action(() => {
                cli.out(zshCompletion(tree()));
            }),
        );
}
