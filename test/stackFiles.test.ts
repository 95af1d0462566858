/** The committed stack files validate, and say what the README says they do. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseKeelConfig } from "../components/config";
import { rawStackConfig } from "../scripts/lib/stackConfig";

const ROOT = path.resolve(__dirname, "..");

function stackConfig(stack: string, env: Record<string, string> = { NEON_API_KEY: "napi_test" }) {
    return rawStackConfig(ROOT, stack, env);
}

describe("stack files", () => {
    it("dev: Docker PostgreSQL, or DATABASE_URL when exported", () => {
        assert.equal(parseKeelConfig(stackConfig("dev")).database.kind, "docker");
        assert.equal(parseKeelConfig(stackConfig("dev", { DATABASE_URL: "postgres://me@localhost:5432/app" })).database.kind, "external");
    });

    it("staging: a child branch of prod's main on Neon, with a sanitization file that exists", () => {
        const c = parseKeelConfig(stackConfig("staging"));
        assert.equal(c.database.kind, "neon");
        if (c.database.kind !== "neon") return;
        assert.equal(c.database.project.owned, false);
        assert.deepEqual(c.database.branch, { name: "staging", parent: "main", protected: false, schemaOnly: false });
        assert.ok(c.database.sanitizeSql && fs.existsSync(path.join(ROOT, c.database.sanitizeSql)), "sanitizeSql points at a file");
    });

    it("prod: owns the Neon project, protected main branch, an endpoint that never sleeps", () => {
        const c = parseKeelConfig(stackConfig("prod"));
        assert.equal(c.database.kind, "neon");
        if (c.database.kind !== "neon") return;
        assert.equal(c.database.project.owned, true);
        assert.deepEqual(c.database.branch, { name: "main", parent: undefined, protected: true, schemaOnly: false });
        assert.equal(c.database.endpoint.suspendTimeoutSeconds, -1);
        assert.equal(c.defaults.protect, true);
    });
});
