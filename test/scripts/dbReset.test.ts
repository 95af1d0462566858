/**
 * npm run db:reset, the command (scripts/dbReset.ts) over the Neon branch reset
 * (components/backup/neonReset.ts, tested in test/backup/neonReset.test.ts),
 * against the fake Neon API: what it needs, the plan it prints, and that it
 * changes nothing unless told to go ahead.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { dbReset } from "../../scripts/dbReset";
import { parseVerb } from "../support/keel";
import { FakeNeon } from "../support/fakeNeon";
import { neonStaging } from "../support/neonStaging";
import { tempDir } from "../support/tempDir";

describe("npm run db:reset (fake Neon API)", function () {
    let fake: FakeNeon;

    before(async () => {
        fake = await FakeNeon.start({ operationPolls: 0 });
    });
    after(() => fake.stop());

    const setup = () => neonStaging(fake);

    const STAGING = `config:
  keel:database:
    kind: neon
    neon:
      project:
        name: shop
      branch:
        name: staging
        parent: main
`;
    function project(stackFiles: Record<string, string>): string {
        const dir = tempDir("keel-reset-cmd-");
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: keel\nruntime: nodejs\n");
        for (const [stack, text] of Object.entries(stackFiles)) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
        return dir;
    }
    const run = (dir: string, argv: string[], env: Record<string, string | undefined>) =>
        parseVerb(["db", "reset"], argv)
            .then(({ options }) =>
                dbReset(
                    { stack: options.stack, yes: options.yes === true },
                    { root: dir, env, out: () => undefined, confirm: async () => false },
                ),
            )
            .catch((e: Error) => e);

    it("with keel:neonApiKey encrypted in the stack file, says the script cannot read it and to export NEON_API_KEY", async () => {
        await setup();
        const dir = project({ staging: STAGING.replace("config:\n", "config:\n  keel:neonApiKey:\n    secure: v1:AAAA\n") });
        const err = await run(dir, ["--stack", "staging"], { NEON_API_URL: fake.url });
        assert.match(
            String((err as Error).message),
            /^Stack 'staging' is on Neon and this command needs a Neon API key: export NEON_API_KEY=\.\.\. \(a keel:neonApiKey in the stack file is encrypted, which this script cannot read\)\.$/,
        );
        assert.deepEqual(fake.mutations(), []);
        // With neither, the command says what it needs (reading the stack's settings needs no key; the Neon API does).
        const neither = await run(project({ staging: STAGING }), ["--stack", "staging"], {});
        assert.match(
            String((neither as Error).message),
            /^Stack 'staging' is on Neon and this command needs a Neon API key: export NEON_API_KEY=\.\.\./,
        );
    });

    it("without --yes and a terminal, prints the plan and changes nothing (exit 1); on a dev stack it names dev:reset", async () => {
        await setup();
        const dir = project({ staging: STAGING, dev: "config: {}\n" });
        const lines: string[] = [];
        const code = await dbReset(
            { stack: "staging" },
            {
                root: dir,
                env: { NEON_API_KEY: fake.apiKey, NEON_API_URL: fake.url },
                out: (l) => void lines.push(l),
                confirm: async () => false,
            },
        );
        assert.equal(code, 1);
        assert.match(lines.join("\n"), /^db:reset on stack 'staging' \(Neon project \S+\) will:\n {2}1\. restore 'staging'/);
        assert.equal(lines[lines.length - 1], "Nothing was changed. (Pass --yes to skip this question in scripts.)");
        assert.deepEqual(fake.mutations(), []);
        const dev = await run(dir, ["--stack", "dev"], {});
        assert.match(
            String((dev as Error).message),
            /uses a local database, and its stack file does not say where its data comes from: set keel:copyFrom .*npm run dev:reset -- --stack dev/,
        );
    });

    it("with --yes, resets the stack's branch from its parent and says so (exit 0)", async () => {
        await setup();
        const dir = project({ staging: STAGING });
        const lines: string[] = [];
        const code = await dbReset(
            { stack: "staging", yes: true },
            {
                root: dir,
                env: { NEON_API_KEY: fake.apiKey, NEON_API_URL: fake.url },
                out: (l) => void lines.push(l),
                confirm: async () => assert.fail("--yes does not ask"),
            },
        );
        assert.equal(code, 0);
        assert.equal(lines[lines.length - 1], "'staging' now holds 'main's data.");
        assert.equal(fake.mutations(/restore/).length, 1);
        assert.ok(
            fake.state.branches.some((b) => /^staging-before-reset-\d{8}-\d{6}$/.test(b.name)),
            "previous state preserved",
        );
    });
});
