/** keel db mask-check and keel db mask-init, through the command line, on a temporary project. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { keel } from "../support/keel";
import { tempDir } from "../support/tempDir";

function project(files: Record<string, string>): string {
    const root = tempDir("keel-mask-");
    for (const [name, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
        fs.writeFileSync(path.join(root, name), text);
    }
    return root;
}

const MIGRATIONS = {
    "migrations/0001_accounts.sql": "CREATE TABLE accounts (\n  id bigint PRIMARY KEY,\n  email text NOT NULL\n);\n",
    "migrations/0002_phone.sql":
        "-- the phone\nALTER TABLE accounts ADD COLUMN phone text;\nALTER TABLE accounts ADD COLUMN nickname text;\nALTER TABLE accounts RENAME COLUMN nickname TO display_name;\n",
};

describe("keel db mask-check / mask-init", () => {
    it("both answer --help", async () => {
        for (const verb of ["mask-check", "mask-init"]) {
            const r = await keel(["db", verb, "--help"]);
            assert.equal(r.code, 0, r.err);
            assert.match(r.out, /--rules <file>/);
        }
    });

    it("check without a rules file names the file and mask-init as the fix; exit 1", async () => {
        const r = await keel(["db", "mask-check"], project(MIGRATIONS));
        assert.equal(r.code, 1);
        assert.match(r.err, /db\/masking\.yaml does not exist/);
        assert.match(r.err, /keel db mask-init/);
    });

    it("init writes the rules with guesses marked # review; check then passes; init refuses to overwrite without --force", async () => {
        const root = project(MIGRATIONS);
        const init = await keel(["db", "mask-init"], root);
        assert.equal(init.code, 0, init.err);
        const text = fs.readFileSync(path.join(root, "db/masking.yaml"), "utf8");
        assert.match(text, /^accounts:$/m);
        assert.match(text, /^ {2}id: keep$/m);
        assert.match(text, /^ {2}email: email {2}# review/m);
        assert.match(text, /^ {2}phone: phone {2}# review/m);
        assert.match(text, /^ {2}display_name: name {2}# review/m);
        assert.doesNotMatch(text, /nickname/);

        const check = await keel(["db", "mask-check"], root);
        assert.equal(check.code, 0, check.out + check.err);
        assert.match(check.out, /classifies all 4 columns/);

        fs.writeFileSync(path.join(root, "db/masking.yaml"), "accounts:\n  id: keep\n");
        const again = await keel(["db", "mask-init"], root);
        assert.equal(again.code, 1);
        assert.match(again.err, /db\/masking\.yaml already exists/);
        assert.match(again.err, /--force/);
        assert.equal(fs.readFileSync(path.join(root, "db/masking.yaml"), "utf8"), "accounts:\n  id: keep\n");

        const forced = await keel(["db", "mask-init", "--force"], root);
        assert.equal(forced.code, 0, forced.err);
        assert.equal(fs.readFileSync(path.join(root, "db/masking.yaml"), "utf8"), text);
    });

    it("check lists every unclassified column with the file:line that added it and the line to add, and stale rules; exit 1", async () => {
        const root = project({ ...MIGRATIONS, "rules/m.yaml": "accounts:\n  id: keep\n  email: email\n  nickname: name\n" });
        const r = await keel(["db", "mask-check", "--rules", "rules/m.yaml"], root);
        assert.equal(r.code, 1, r.err);
        assert.match(
            r.out,
            /accounts\.phone \(added at migrations\/0002_phone\.sql:2\)\n {4}fix: add under 'accounts:' the line 'phone: phone/,
        );
        assert.match(r.out, /accounts\.display_name \(added at migrations\/0002_phone\.sql:3\)/);
        assert.match(r.out, /rules\/m\.yaml:4: column accounts\.nickname no longer exists/);
        assert.doesNotMatch(r.out, /accounts\.email \(/);
    });

    it("check lists what the files cannot tell, with file:line", async () => {
        const root = project({
            ...MIGRATIONS,
            "migrations/0003_copy.sql": "\nCREATE TABLE archive AS SELECT * FROM accounts;\n",
            "db/masking.yaml": "accounts:\n  id: keep\n  email: email\n  phone: phone\n  display_name: name\n",
        });
        const r = await keel(["db", "mask-check"], root);
        assert.equal(r.code, 0, r.out + r.err);
        assert.match(r.out, /migrations\/0003_copy\.sql:2: CREATE TABLE archive AS …: the files cannot tell: check the live catalog/);
    });

    it("a typo'd rules file: the error names file:line and the fix", async () => {
        const root = project({ ...MIGRATIONS, "db/masking.yaml": "accounts:\n  id: keep\n  email: emial\n" });
        const r = await keel(["db", "mask-check"], root);
        assert.equal(r.code, 1);
        assert.match(r.err, /db\/masking\.yaml:3: accounts\.email: /);
        assert.match(r.err, /fix: .*email/);
    });
});
