/**
 * keel completion bash|zsh: the scripts are generated from the tree, so they name every noun and
 * verb; bash's, sourced in a real bash, completes nouns, verbs and a verb's flags.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { Command } from "@commander-js/extra-typings";
import { completionTree } from "../../cli/completion/scripts";
import { keelProgram } from "../../cli/main";
import { keel, testContext } from "../support/keel";
import { REPO_ROOT } from "../support/migrationsDir";

function nounsAndVerbs(): { noun: string; verbs: string[] }[] {
    return keelProgram(testContext(REPO_ROOT)).commands.map((c) => ({
        noun: c.name(),
        verbs: (c as Command<any, any, any>).commands.map((v) => v.name()),
    }));
}

describe("keel completion", () => {
    for (const shell of ["bash", "zsh"]) {
        it(`${shell}: the script names every noun and every verb, from the tree`, async () => {
            const r = await keel(["completion", shell], REPO_ROOT);
            assert.equal(r.code, 0, r.err);
            for (const { noun, verbs } of nounsAndVerbs()) {
                assert.ok(new RegExp(`\\b${noun}\\b`).test(r.out), noun);
                for (const verb of verbs) assert.ok(r.out.includes(`${noun}:${verb}`), `${noun} ${verb}`);
            }
        });
    }

    it("the tree it is made of has each verb's flags", () => {
        const nodes = completionTree(keelProgram(testContext(REPO_ROOT)));
        const url = nodes.find((n) => n.key === "db:url");
        assert.deepEqual(url?.options.map((o) => o.flag).sort(), ["--pooled", "--stack", "-s"]);
        assert.deepEqual(
            nodes.find((n) => n.key === "")?.commands.map((c) => c.name),
            nounsAndVerbs().map((n) => n.noun),
        );
    });

    it("bash completes nouns, verbs and flags after the words typed so far", async function () {
        const bash = spawnSync("bash", ["--version"]);
        if (bash.status !== 0) this.skip();
        const script = (await keel(["completion", "bash"], REPO_ROOT)).out;
        const complete = (line: string) => {
            const words = line.split(" ");
            const r = spawnSync(
                "bash",
                [
                    "-c",
                    `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _keel; printf '%s\\n' "\${COMPREPLY[@]}"`,
                ],
                { encoding: "utf8" },
            );
            assert.equal(r.status, 0, r.stderr);
            return r.stdout.trim().split("\n").filter(Boolean).sort();
        };
        assert.deepEqual(complete("keel d"), ["db", "deploy", "dev", "drift"]);
        assert.deepEqual(complete("keel db re"), ["reset", "restore"]);
        assert.deepEqual(complete("keel db url --"), ["--help", "--pooled", "--stack"]);
        // An option's value is not taken for a verb.
        assert.deepEqual(complete("keel schema status --stack prod --fi"), ["--fingerprint"]);
        // Registered for the word the README types too: ./keel.
        const registered = spawnSync("bash", ["-c", `${script}\ncomplete -p ./keel`], { encoding: "utf8" });
        assert.equal(registered.status, 0, registered.stderr);
        assert.match(registered.stdout, /-F _keel .*\.\/keel/);
    });
});
