/**
 * Shell completion scripts generated from the command tree itself, so a new noun, verb or
 * flag completes without anyone editing a script. Pure: the tree in, the script's text out.
 */
import type { Command } from "@commander-js/extra-typings";

/** One place in the tree: `db:url` (the words that lead there, joined with ':'), and what may follow it. */
export interface CompletionNode {
    key: string;
    /** The nouns or verbs below it, with their one-line descriptions. */
    commands: { name: string; description: string }[];
    /** Its long flags (and short ones), with their descriptions. */
    options: { flag: string; description: string }[];
}

/** Every place in the tree, the root first (key ""). */
export function completionTree(program: Command<any, any, any>): CompletionNode[] {
    const nodes: CompletionNode[] = [];
    const walk = (command: Command<any, any, any>, key: string) => {
        const subs = command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden) as Command<any, any, any>[];
        nodes.push({
            key,
            commands: subs.map((c) => ({ name: c.name(), description: firstSentence(c.description()) })),
            options: command.options
                .filter((o) => !o.hidden)
                .flatMap((o) =>
                    [o.long, o.short].filter((f): f is string => !!f).map((flag) => ({ flag, description: firstSentence(o.description) })),
                ),
        });
        for (const c of subs) walk(c, key ? `${key}:${c.name()}` : c.name());
    };
    walk(program, "");
    return nodes;
}

function firstSentence(text: string): string {
    const line = text.split("\n")[0];
    const end = line.search(/[.:;]\s/);
    return (end > 0 ? line.slice(0, end) : line).replace(/\.$/, "");
}

/** bash: `source <(keel completion bash)`, or the text saved into bash-completion's directory. */
export function bashCompletion(nodes: CompletionNode[], name = "keel"): string {
    const fn = `_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
    const keys = nodes.filter((n) => n.key).map((n) => n.key);
    const cases = nodes.map((n) => {
        const words = [...n.commands.map((c) => c.name), ...n.options.map((o) => o.flag), "--help"].join(" ");
        return `        "${n.key}") words="${words}" ;;`;
    });
    return [
        `# ${name} completion for bash, generated from the command tree by \`${name} completion bash\`.`,
        `${fn}() {`,
        `    local cur=\${COMP_WORDS[COMP_CWORD]} key="" word i words=""`,
        `    local known=" ${keys.join(" ")} "`,
        `    for ((i = 1; i < COMP_CWORD; i++)); do`,
        `        word=\${COMP_WORDS[i]}`,
        `        case "$word" in -*) continue ;; esac`,
        `        case "$known" in *" \${key:+$key:}$word "*) key=\${key:+$key:}$word ;; esac`,
        `    done`,
        `    case "$key" in`,
        ...cases,
        `    esac`,
        `    COMPREPLY=($(compgen -W "$words" -- "$cur"))`,
        `}`,
        // The checkout's launcher is typed as ./keel: complete that word too.
        `complete -o default -F ${fn} ${name} ./${name}`,
        "",
    ].join("\n");
}

/** zsh: `source <(keel completion zsh)` after compinit, or the text saved as _keel on $fpath. */
export function zshCompletion(nodes: CompletionNode[], name = "keel"): string {
    const fn = `_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
    const keys = nodes.filter((n) => n.key).map((n) => n.key);
    const item = (word: string, description: string) => `'${`${word.replace(/:/g, "\\:")}:${description}`.replace(/'/g, "'\\''")}'`;
    const cases = nodes.map((n) => {
        const items = [...n.commands.map((c) => item(c.name, c.description)), ...n.options.map((o) => item(o.flag, o.description))];
        return `        "${n.key}") choices=(${items.join(" ")}) ;;`;
    });
    return [
        `#compdef ${name}`,
        `# ${name} completion for zsh, generated from the command tree by \`${name} completion zsh\`.`,
        `${fn}() {`,
        `    local key="" word i`,
        `    local known=" ${keys.join(" ")} "`,
        `    local -a choices`,
        `    for ((i = 2; i < CURRENT; i++)); do`,
        `        word=\${words[i]}`,
        `        [[ $word == -* ]] && continue`,
        `        case "$known" in *" \${key:+$key:}$word "*) key=\${key:+$key:}$word ;; esac`,
        `    done`,
        `    case "$key" in`,
        ...cases,
        `    esac`,
        `    _describe -t commands '${name}' choices`,
        `}`,
        `compdef ${fn} ${name} ./${name}`,
        "",
    ].join("\n");
}
