/** The masking check of a stack that receives copies, as the program runs it before declaring anything (index.ts). */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { DatabaseConfig } from "../../components/config";
import { checkReceivingStack, ReceivingStackCheck, ReceivingStackMaskingError } from "../../components/masking/receivingStack";
import { tempDir } from "../support/tempDir";

const EXTERNAL: DatabaseConfig = { kind: "external", url: "postgres://app:pw@db.internal:5432/app", source: "config" };
const RULES = "accounts:\n  id: keep\n  email: email\n";

/** A project directory with migrations/ and, when given, db/masking.yaml. */
function project(files: Record<string, string>, rules?: string): string {
    const root = tempDir("keel-receiving-");
    fs.mkdirSync(path.join(root, "migrations"));
    for (const [name, sql] of Object.entries(files)) fs.writeFileSync(path.join(root, "migrations", name), sql);
    if (rules !== undefined) {
        fs.mkdirSync(path.join(root, "db"));
        fs.writeFileSync(path.join(root, "db", "masking.yaml"), rules);
    }
    return root;
}

const ACCOUNTS = { "0001_accounts.sql": "CREATE TABLE accounts (\n  id bigint PRIMARY KEY,\n  email text NOT NULL\n);\n" };
const staging = (extra: { copyFrom?: string; database?: DatabaseConfig } = {}) => ({
    stack: "staging",
    database: EXTERNAL,
    migrations: { dir: "migrations" },
    copyFrom: "prod",
    ...extra,
});

async function failure(p: Promise<ReceivingStackCheck>): Promise<string> {
    try {
        await p;
    } catch (err) {
        assert.ok(err instanceof ReceivingStackMaskingError, `expected ReceivingStackMaskingError, got ${err}`);
        return err.message;
    }
    assert.fail("expected the check to fail");
}

describe("masking: the check of a stack that receives copies", () => {
    it("a stack that receives no copies is not checked, whatever its rules file holds", async () => {
        const root = project({ ...ACCOUNTS, "0002_phone.sql": "ALTER TABLE accounts ADD COLUMN phone text;" }, "not: [valid");
        assert.deepEqual(await checkReceivingStack(root, staging({ copyFrom: undefined })), { receives: false });
    });

    it("without a rules file: a warning naming where the copies come from and how to write the rules, no failure", async () => {
        const root = project(ACCOUNTS);
        const r = await checkReceivingStack(root, staging());
        assert.equal(r.receives, true);
        assert.match(r.warning!, /^Stack 'staging' receives copies of the prod stack, and db\/masking\.yaml does not exist/);
        assert.match(r.warning!, /`keel db copy` will refuse a masked copy until `keel db mask-init` writes the rules/);
        const neon: DatabaseConfig = {
            kind: "neon",
            branch: { name: "staging", parent: "main", schemaOnly: false, protected: false },
        } as unknown as DatabaseConfig;
        const fromParent = await checkReceivingStack(root, staging({ copyFrom: undefined, database: neon }));
        assert.match(fromParent.warning!, /receives copies of the Neon branch main/);
    });

    it("rules that match the migrations pass", async () => {
        assert.deepEqual(await checkReceivingStack(project(ACCOUNTS, RULES), staging()), { receives: true });
    });

    it("a column without a rule fails, naming the migration file:line and the line to add", async () => {
        const root = project({ ...ACCOUNTS, "0002_phone.sql": "\nALTER TABLE accounts ADD COLUMN phone text;\n" }, RULES);
        const message = await failure(checkReceivingStack(root, staging()));
        assert.match(
            message,
            /^Stack 'staging' receives copies of the prod stack, so every column its migrations create needs a masking rule/,
        );
        assert.match(
            message,
            /accounts\.phone \(added at migrations\/0002_phone\.sql:2\)\n {4}fix: add under 'accounts:' the line 'phone: phone {2}# review/,
        );
    });

    it("a stale rule fails, naming its line in the rules file", async () => {
        const message = await failure(checkReceivingStack(project(ACCOUNTS, RULES + "  nickname: name\n"), staging()));
        assert.match(message, /db\/masking\.yaml:4: column accounts\.nickname no longer exists/);
    });

    it("a rules file that does not parse fails, naming its file:line", async () => {
        const message = await failure(checkReceivingStack(project(ACCOUNTS, RULES + "  phone: phoen\n"), staging()));
        assert.match(message, /^Stack 'staging' receives copies of the prod stack, so its masking rules must be valid/);
        assert.match(message, /db\/masking\.yaml:4: accounts\.phone: 'phoen' is not a masking strategy/);
    });
});
