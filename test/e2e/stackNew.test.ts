/**
 * End to end through the real engine: npm run stack:new (a stack of each
 * stage's passphrase, its file from the stage's template with the salt in it,
 * then `npm run pulumi -- config set --secret` and up/preview with the
 * passphrase every later command uses), its refusals, and the tracked stack
 * files left byte-identical by preview and up (the engine would add an
 * encryptionsalt line to a file that has none).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { EngineWorkspace, requireEngine } from "../support/engine";
import { freshDatabase } from "../support/postgres";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";

describe("end to end: npm run stack:new, and stack files the engine leaves alone", function () {
    this.timeout(10 * 60_000);
    let cli: PulumiCli;
    let ws: EngineWorkspace;
    let url: string;

    before(async function () {
        cli = requireEngine(this);
        url = await freshDatabase("e2e_stacknew");
        ws = EngineWorkspace.create(cli);
    });

    /** `keel <args>` as npm runs it: the shell's passphrase only when given, no terminal. */
    const run = (args: string[], extra: Record<string, string | undefined> = {}) => ws.runKeel(args, { CI: "true", ...extra });
    const file = (stack: string) => path.join(ws.root, `Pulumi.${stack}.yaml`);
    const stateOf = (stack: string) => path.join(ws.state, ".pulumi", "stacks", "keel", `${stack}.json`);

    it("a dev stack: created with dev's empty passphrase and its salt; config set --secret, up and db:url need no passphrase; the file is as written", () => {
        const made = run(["stack", "new", "ext", "--stage", "dev"]);
        assert.equal(made.status, 0, made.stderr + made.stdout);
        assert.match(
            made.stdout,
            /^Created the stack 'ext' \(stage dev\) in file:\/\/\S+ and Pulumi\.ext\.yaml from Pulumi\.dev\.yaml\.$/m,
        );
        const doc = parse(fs.readFileSync(file("ext"), "utf8"));
        assert.equal(doc.config["keel:stage"], "dev");
        assert.match(doc.encryptionsalt, /^v1:/);
        assert.notEqual(doc.config["keel:database"].local.port, 54329, "a port of its own, not dev's");
        assert.ok(fs.existsSync(stateOf("ext")));

        // An existing server instead of a local one, its URL a secret: as a user would.
        ws.editStackFile("ext", (c) => (c["keel:database"] = { kind: "external" }));
        const set = run(["pulumi", "config", "set", "--secret", "keel:databaseUrl", url, "--stack", "ext"]);
        assert.equal(set.status, 0, set.stderr);
        const written = fs.readFileSync(file("ext"), "utf8");
        assert.match(written, /keel:databaseUrl:\n\s+secure: v1:/);
        const up = run(["stack", "up", "ext"]);
        assert.equal(up.status, 0, up.stderr + up.stdout);
        assert.equal(fs.readFileSync(file("ext"), "utf8"), written, "up leaves the file alone");
        const dbUrl = run(["db", "url", "--stack", "ext"]);
        assert.equal(dbUrl.stdout, `${url}\n`, dbUrl.stderr);
    });

    it("a staging stack: refused without PULUMI_CONFIG_PASSPHRASE (nothing created); with it, config set --secret and preview work with that passphrase only", () => {
        const refused = run(["stack", "new", "qa", "--stage", "staging"]);
        assert.equal(refused.status, 1);
        assert.match(refused.stderr, /PULUMI_CONFIG_PASSPHRASE is not set: export PULUMI_CONFIG_PASSPHRASE=.*Nothing was created\.\n$/);
        assert.equal(fs.existsSync(file("qa")), false);
        assert.equal(fs.existsSync(stateOf("qa")), false);

        const passphrase = { PULUMI_CONFIG_PASSPHRASE: "qa-passphrase" };
        const made = run(["stack", "new", "qa", "--stage", "staging"], passphrase);
        assert.equal(made.status, 0, made.stderr + made.stdout);
        const doc = parse(fs.readFileSync(file("qa"), "utf8"));
        assert.equal(doc.config["keel:stage"], "staging");
        assert.equal(doc.config["keel:database"].neon.branch.name, undefined, "a Neon branch named after the stack, not staging's");

        ws.editStackFile("qa", (c) => (c["keel:database"] = { kind: "external" }));
        const wrong = run(["pulumi", "config", "set", "--secret", "keel:databaseUrl", url, "--stack", "qa"], {
            PULUMI_CONFIG_PASSPHRASE: "another",
        });
        assert.notEqual(wrong.status, 0);
        assert.match(wrong.stderr, /incorrect passphrase/i);
        const set = run(["pulumi", "config", "set", "--secret", "keel:databaseUrl", url, "--stack", "qa"], passphrase);
        assert.equal(set.status, 0, set.stderr);
        const written = fs.readFileSync(file("qa"), "utf8");
        const preview = run(["stack", "preview", "qa"], { ...passphrase, KEEL_SKIP_POLICY: "1" });
        assert.equal(preview.status, 0, preview.stderr + preview.stdout);
        assert.equal(fs.readFileSync(file("qa"), "utf8"), written, "preview leaves the file alone");
    });

    it("an existing name is refused: its file, or its stack in the backend", () => {
        const again = run(["stack", "new", "ext", "--stage", "dev"]);
        assert.equal(again.status, 1);
        assert.match(again.stderr, /^error: Pulumi\.ext\.yaml already exists: .*Nothing was changed\.\n$/);
        fs.renameSync(file("ext"), `${file("ext")}.away`);
        try {
            const state = run(["stack", "new", "ext", "--stage", "dev"]);
            assert.equal(state.status, 1);
            assert.match(state.stderr, /already has a stack named 'ext' \(its file is missing here\)/);
            assert.equal(fs.existsSync(file("ext")), false, "no file left behind");
        } finally {
            fs.renameSync(`${file("ext")}.away`, file("ext"));
        }
        assert.equal(run(["stack", "new", "--help"]).status, 0);
        assert.equal(run(["stack", "new", "x", "--stage", "qa"]).status, 2);
    });

    it("preview and up leave a stack file without a salt byte-identical (the salt stays in the backend); the shipped staging file too", () => {
        // A dev-stage stack whose file has no salt, reading its database from DATABASE_URL.
        fs.writeFileSync(file("sandbox"), "# a sandbox\nconfig:\n  keel:stage: dev\n  keel:database:\n    kind: external\n");
        const before = fs.readFileSync(file("sandbox"));
        const up = run(["stack", "up", "sandbox"], { DATABASE_URL: url });
        assert.equal(up.status, 0, up.stderr + up.stdout);
        assert.ok(fs.readFileSync(file("sandbox")).equals(before), "up added nothing to the file");
        const preview = run(["stack", "preview", "sandbox"], { DATABASE_URL: url });
        assert.equal(preview.status, 0, preview.stderr + preview.stdout);
        assert.ok(fs.readFileSync(file("sandbox")).equals(before), "preview added nothing to the file");
        // Its secrets (the URL output) still decrypt: the backend holds the salt.
        const output = run(["pulumi", "stack", "output", "databaseUrl", "--show-secrets", "--stack", "sandbox"]);
        assert.equal(output.stdout, `${url}\n`, output.stderr);

        const staging = fs.readFileSync(file("staging"));
        run(["stack", "preview", "staging"], { PULUMI_CONFIG_PASSPHRASE: "staging-passphrase" });
        assert.ok(fs.existsSync(stateOf("staging")), "the preview created the stack");
        assert.ok(fs.readFileSync(file("staging")).equals(staging), "Pulumi.staging.yaml is as tracked");
    });
});
