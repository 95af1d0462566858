import assert from "assert";
import { Command } from "@commander-js/extra-typings";
import * as fs from "fs";
import * as path from "path";
import { keelProgram } from "../../cli/main";
import { commandsIn, commandsReference } from "../../cli/reference";
import { checkDoc, COMMANDS_FILE, GENERATED } from "../../tools/docs";
import { testContext } from "../support/keel";

/** A small tree shaped like keel's: nouns with verbs, a verb on its own, a noun with an action. */
function tree(): Command {
    const root = new Command("keel");
    root.addCommand(
        new Command("db")
            .description("the database")
            .addCommand(
                new Command("url")
                    .description("Prints the URL. Then more.")
                    .option("--pooled", "the pooled one")
                    .action(() => {}),
            )
            .addCommand(
                new Command("backup")
                    .description("Takes a | backup.")
                    .option("-s, --stack <stack>", "the stack", "dev")
                    .action(() => {}),
            ),
    );
    root.addCommand(
        new Command("drift")
            .description("What changed outside Keel.")
            .option("--json", "as JSON")
            .action(() => {}),
    );
    return root;
}

describe("the commands reference", () => {
    it("lists every runnable command, verbs under their noun, and not the nouns that only print help", () => {
        assert.deepEqual(
            commandsIn(tree()).map((c) => c.name),
            ["keel db url", "keel db backup", "keel drift"],
        );
    });

    it("gives each its usage with the full command, its description and every option with its default", () => {
        const md = commandsReference(tree(), "Intro.");
        assert.match(md, /^# Commands\n\nIntro\.\n/);
        assert.match(md, /\| \[`keel db url`\]\(#keel-db-url\) \| Prints the URL\. \|/);
        assert.match(md, /## keel db backup\n\n```\nkeel db backup \[options\]\n```/);
        assert.match(md, /\| `-s, --stack <stack>` \| the stack \(default: "dev"\) \|/);
        assert.match(md, /Takes a \\\| backup\./, "a | in a description is escaped in the table");
        assert.doesNotMatch(md, /--help/);
        assert.equal(commandsReference(tree(), "Intro."), md, "the same tree gives the same text");
    });
});

describe("docs/commands.md", () => {
    it("is what the keel tree gives (npm run docs), and names every verb", () => {
        const root = path.join(__dirname, "../..");
        checkDoc(
            root,
            GENERATED.find((d) => d.file === COMMANDS_FILE)!,
        );
        const text = fs.readFileSync(path.join(root, COMMANDS_FILE), "utf8");
        for (const { name } of commandsIn(keelProgram(testContext(root)))) assert.ok(text.includes(`## ${name}\n`), name);
    });

    it("escapes what Markdown would read as a tag", () => {
        const root = new Command("keel").addCommand(new Command("up").description("Runs up on <stack>.").action(() => {}));
        assert.match(commandsReference(root, ""), /Runs up on &lt;stack&gt;\./);
    });
});
