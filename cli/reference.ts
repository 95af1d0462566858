/**
 * The commands reference (docs/commands.md), written from the command tree
 * itself, so it cannot drift from what `keel --help` says: every verb's usage,
 * description and options, in the tree's order. Deterministic; no terminal width.
 */
import { Command, Help } from "@commander-js/extra-typings";

/** Every runnable command below `root` (verbs, and nouns that run on their own), depth first, with its full name. */
export function commandsIn(root: Command): { name: string; command: Command }[] {
    const found: { name: string; command: Command }[] = [];
    const walk = (c: Command, prefix: string[]) => {
        for (const sub of c.commands as Command[]) {
            if (sub.name() === "help") continue;
            const name = [...prefix, sub.name()];
            if (sub.commands.length === 0 || hasAction(sub)) found.push({ name: name.join(" "), command: sub });
            walk(sub, name);
        }
    };
    walk(root, [root.name()]);
    return found;
}

function hasAction(c: Command): boolean {
    // commander keeps the action handler private; a noun with verbs and no action of its own only prints help.
    return Boolean((c as unknown as { _actionHandler?: unknown })._actionHandler);
}

/** The Markdown reference: a heading per command, its usage, what it does, its options as a table. */
export function commandsReference(root: Command, intro: string): string {
    const help = new Help();
    const lines = ["# Commands", "", intro, ""];
    const commands = commandsIn(root);
    lines.push("| command | what it does |", "| --- | --- |");
    for (const { name, command } of commands)
        lines.push(`| [\`${name}\`](#${anchor(name)}) | ${cell(firstSentence(command.description()))} |`);
    lines.push("");
    for (const { name, command } of commands) {
        lines.push(`## ${name}`, "", "```", help.commandUsage(command), "```", "");
        if (command.description()) lines.push(escapeAngles(command.description()), "");
        const options = help.visibleOptions(command).filter((o) => o.long !== "--help");
        if (options.length) {
            lines.push("| option | meaning |", "| --- | --- |");
            for (const o of options) lines.push(`| \`${help.optionTerm(o)}\` | ${cell(help.optionDescription(o))} |`);
            lines.push("");
        }
    }
    return `${lines.join("\n").trimEnd()}\n`;
}

function firstSentence(text: string): string {
    const at = text.search(/\.(\s|$)/);
    return at < 0 ? text : text.slice(0, at + 1);
}

function cell(text: string): string {
    return escapeAngles(text).replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** `<stack>` in prose would be read as an HTML tag and vanish from the rendered page. */
function escapeAngles(text: string): string {
    return text.replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** GitHub's anchor for a heading. */
function anchor(heading: string): string {
    return heading
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, "")
        .replace(/ /g, "-");
}
