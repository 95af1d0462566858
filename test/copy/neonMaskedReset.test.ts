/**
 * keel db reset on Neon, masked: through the fake Neon API with its data plane
 * (a real PostgreSQL database per branch), run as a user runs it (`node keel db
 * reset`, a process trusting the cluster's CA as Neon's URIs ask). The branch
 * is masked on a temporary branch before staging is restored from it: staging
 * gets masked rows, main keeps its own, the temporary branch and its unmasked
 * database are gone, staging's previous state is kept as a branch.
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { maskEmail } from "../../components/masking";
import { FakeNeon } from "../support/fakeNeon";
import { neonStaging } from "../support/neonStaging";
import { queryRows, testCluster } from "../support/postgres";

const query = queryRows;
import { ROOT } from "../support/repoRoot";
import { tempDir } from "../support/tempDir";

const KEY = "neon-reset-key-0123456789abcdef";

function run(root: string, argv: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(ROOT, "keel"), ...argv], {
            cwd: root,
            env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (err += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, out, err }));
    });
}

function stagingProject(): string {
    const root = tempDir("keel-neon-reset-");
    fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: keel\nruntime: nodejs\n");
    fs.writeFileSync(
        path.join(root, "Pulumi.staging.yaml"),
        "config:\n  keel:database:\n    kind: neon\n    neon:\n      project:\n        name: shop\n      branch:\n        name: staging\n        parent: main\n      roleName: app\n      databaseName: app\n",
    );
    fs.writeFileSync(
        path.join(root, "Pulumi.prod.yaml"),
        "config:\n  keel:database:\n    kind: neon\n    neon:\n      project:\n        name: shop\n        ownedBy: prod\n      roleName: app\n      databaseName: app\n",
    );
    fs.mkdirSync(path.join(root, "db"));
    fs.writeFileSync(path.join(root, "db/masking.yaml"), "accounts:\n  id: keep\n  email: email\n  plan: keep\n");
    return root;
}

describe("keel db reset on Neon, masked (fake Neon with a database per branch)", function () {
    this.timeout(180000);
    let fake: FakeNeon;

    before(async () => {
        const cluster = await testCluster();
        fake = await FakeNeon.start({ dataPlane: { adminUrl: cluster.url("postgres") }, operationPolls: 0 });
    });
    after(() => fake?.stop());

    for (const argv of [
        ["db", "reset", "--stack", "staging", "--yes"],
        ["db", "copy", "--from", "prod", "--to", "staging", "--yes"],
    ])
        it(`${argv.slice(0, 2).join(" ")}: masks on the temporary branch, restores staging from it, leaves main and nothing unmasked behind`, async () => {
            const cluster = await testCluster();
            const { project, main, staging } = await neonStaging(fake);
            await fake.settled();
            const mainUrl = fake.physicalUrl(main.id, "app");
            await query(
                mainUrl,
                `SET ROLE app; CREATE TABLE accounts (id int PRIMARY KEY, email text UNIQUE NOT NULL, plan text);
             INSERT INTO accounts SELECT g, 'person' || g || '@mail.test', 'pro' FROM generate_series(1, 30) g;
             CREATE TABLE keel_schema_history (version text PRIMARY KEY); INSERT INTO keel_schema_history VALUES ('0001')`,
            );
            await query(fake.physicalUrl(staging.id, "app"), "SET ROLE app; CREATE TABLE staging_only (x int)");

            const root = stagingProject();
            const env = { NEON_API_KEY: fake.apiKey, NEON_API_URL: fake.url, KEEL_MASKING_KEY: KEY, NODE_EXTRA_CA_CERTS: cluster.caFile };

            const r = await run(root, argv, env);
            assert.equal(r.code, 0, r.err + r.out);
            assert.match(r.out, /mask .app. on it by db\/masking\.yaml/);
            assert.match(r.out, /what .main. holds, and how the copy masks it:\n {2}accounts: rows copied; masked: email \(email\)/);
            assert.match(r.out, /checked: no original value in 1 masked column/);
            assert.match(r.out, /'staging' now holds 'main's data, masked by db\/masking\.yaml\.$/m);

            const stagingRows = await query(fake.physicalUrl(staging.id, "app"), "SELECT id, email FROM accounts ORDER BY id");
            assert.equal(stagingRows.length, 30);
            for (const row of stagingRows) assert.equal(row.email, maskEmail(KEY, `person${row.id}@mail.test`));
            assert.deepEqual(await query(fake.physicalUrl(staging.id, "app"), "SELECT version FROM keel_schema_history"), [
                { version: "0001" },
            ]);
            // main is untouched.
            assert.deepEqual(await query(mainUrl, "SELECT count(*)::int AS n FROM accounts WHERE email LIKE '%@mail.test'"), [{ n: 30 }]);
            // staging's previous state is a branch; the temporary branch and every unmasked database on it are gone.
            const branches = fake.state.branches.filter((b) => b.project_id === project.id).map((b) => b.name);
            assert.ok(
                branches.some((n) => /^staging-before-reset-/.test(n)),
                branches.join(", "),
            );
            assert.ok(!branches.some((n) => /^keel-reset-/.test(n)), branches.join(", "));
            const dbs = (await query(cluster.url("postgres"), "SELECT datname FROM pg_database")).map((d) => d.datname);
            assert.ok(!dbs.some((d) => d.startsWith("nb_") && /keel_(copy|before_copy)/.test(d)), dbs.join(", "));
            // Only main and the preserved branch hold the original emails.
            for (const b of fake.state.branches.filter((x) => x.project_id === project.id && x.id !== main.id)) {
                const preserved = /^staging-before-reset-/.test(b.name);
                const hits = await query(
                    fake.physicalUrl(b.id, "app"),
                    "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'accounts'",
                );
                if (!hits[0].n) continue;
                const originals = await query(
                    fake.physicalUrl(b.id, "app"),
                    "SELECT count(*)::int AS n FROM accounts WHERE email LIKE '%@mail.test'",
                );
                assert.deepEqual(originals, [{ n: 0 }], `${b.name} ${preserved}`);
            }
        });

    it("a column of the parent without a rule stops the reset before any branch is made, naming it", async () => {
        const cluster = await testCluster();
        const { main, staging } = await neonStaging(fake);
        await fake.settled();
        await query(
            fake.physicalUrl(main.id, "app"),
            "SET ROLE app; CREATE TABLE accounts (id int PRIMARY KEY, email text, plan text); DO $$ BEGIN EXECUTE 'ALTER TABLE accounts ADD COLUMN ssn text'; END $$",
        );
        await query(fake.physicalUrl(staging.id, "app"), "SET ROLE app; CREATE TABLE staging_only (x int)");
        fake.requests.splice(0);
        const env = { NEON_API_KEY: fake.apiKey, NEON_API_URL: fake.url, KEEL_MASKING_KEY: KEY, NODE_EXTRA_CA_CERTS: cluster.caFile };
        const r = await run(stagingProject(), ["db", "reset", "--stack", "staging", "--yes"], env);
        assert.equal(r.code, 1, r.out);
        assert.match(
            r.err,
            /accounts\.ssn \(text\) has no masking rule \(the live catalog of [^)]+ has it\); in db\/masking\.yaml, add under 'accounts:' the line 'ssn: /,
        );
        assert.deepEqual(fake.mutations(), []);
        assert.deepEqual(await query(fake.physicalUrl(staging.id, "app"), "SELECT to_regclass('staging_only')::text AS t"), [
            { t: "staging_only" },
        ]);
    });
});
