/**
 * End to end through the real engine: a preview made from a dev base whose
 * database is local (a preview without a deployed backend): `keel pr up` gives
 * it a server of its own on the next free port, migrated and seeded
 * (keel:previews.data seed), with dev's empty passphrase; `keel pr down` stops
 * it and removes its data directory, the stack and its file.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { PulumiCli } from "../../scripts/lib/pulumiCli";
import { EngineWorkspace, requireEngine } from "../support/engine";
import { freePort, queryRows } from "../support/postgres";
import { parse } from "yaml";

const query = queryRows;

describe("end to end: a preview of a dev base with a local database (pr up seeds it, pr down removes its server)", function () {
    this.timeout(15 * 60_000);
    let cli: PulumiCli;
    let ws: EngineWorkspace;

    before(async function () {
        cli = requireEngine(this);
        ws = EngineWorkspace.create(cli, { PULUMI_CONFIG_PASSPHRASE: "" });
        // The server's user (postgres, when root) must reach the project: a temp directory is 0700.
        fs.chmodSync(ws.root, 0o755);
        const port = await freePort();
        ws.editStackFile("dev", (c) => {
            c["keel:database"].local.port = port;
            c["keel:previews"] = { enabled: true, data: "seed" };
        });
    });

    after(() => {
        // A failing test may leave the preview's server running.
        ws.runKeel(["pr", "down", "--pr", "3", "--from", "dev"]);
    });

    const run = (args: string[]) => ws.runKeel(args, {});

    it("pr up --from dev: a server of its own, migrated and seeded, without a passphrase", async () => {
        const res = run(["pr", "up", "--pr", "3", "--from", "dev", "--branch", "feature/seed"]);
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.match(res.stdout, /1 seed applied to the preview's database/);
        const file = parse(fs.readFileSync(path.join(ws.root, "Pulumi.pr-3.yaml"), "utf8"));
        const devPort = parse(fs.readFileSync(path.join(ws.root, "Pulumi.dev.yaml"), "utf8")).config["keel:database"].local.port;
        assert.notEqual(file.config["keel:database"].local.port, devPort, "the preview shares dev's server");
        const url = ws.runKeel(["db", "url", "--stack", "pr-3"], {}).stdout.trim();
        assert.match(url, new RegExp(`:${file.config["keel:database"].local.port}/`));
        assert.equal((await query(url, "SELECT count(*)::int AS n FROM accounts"))[0].n, 3);
        assert.ok(fs.existsSync(path.join(ws.root, ".keel", "dev", "pr-3")));
    });

    it("a second pr up does not seed again (the rows are the preview's own by then)", async () => {
        const res = run(["pr", "up", "--pr", "3", "--from", "dev", "--branch", "feature/seed"]);
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.doesNotMatch(res.stdout, /seed applied/);
    });

    it("pr down stops the server and removes its data directory, the stack and its file", () => {
        const res = run(["pr", "down", "--pr", "3", "--from", "dev"]);
        assert.equal(res.status, 0, res.stderr + res.stdout);
        assert.ok(!fs.existsSync(path.join(ws.root, ".keel", "dev", "pr-3")), `the data directory is left: ${res.stdout}`);
        assert.ok(!fs.existsSync(path.join(ws.root, "Pulumi.pr-3.yaml")));
        assert.match(run(["pr", "list", "--from", "dev"]).stdout, /No previews/);
    });
});
