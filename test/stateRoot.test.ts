/**
 * Where a stack's state paths resolve (components/stateRoot.ts): against the
 * project the engine runs in, or KEEL_STATE_ROOT, which a rollback sets to the
 * user's checkout while the target's code runs from a git worktree.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import * as path from "path";
import { pathsOfDir } from "../components/database/local/server";
import { resolveStatePath, stateRoot } from "../components/stateRoot";

describe("state root", () => {
    it("is the working directory unless KEEL_STATE_ROOT names another (made absolute against it)", () => {
        assert.equal(stateRoot({}, "/work/tree"), "/work/tree");
        assert.equal(stateRoot({ KEEL_STATE_ROOT: "" }, "/work/tree"), "/work/tree");
        assert.equal(stateRoot({ KEEL_STATE_ROOT: "/home/me/shop" }, "/tmp/keel-rollback-x"), "/home/me/shop");
        assert.equal(stateRoot({ KEEL_STATE_ROOT: "../shop" }, "/home/me/wt"), "/home/me/shop");
    });

    it("property: a relative state path lands under the state root, an absolute one stays as it is", () => {
        const segment = fc.stringMatching(/^[a-z0-9_.-]{1,8}$/).filter((s) => s !== "." && s !== "..");
        fc.assert(
            fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (parts) => {
                const rel = path.join(...parts);
                const env = { KEEL_STATE_ROOT: "/home/me/shop" };
                assert.equal(resolveStatePath(rel, env, "/tmp/worktree"), path.join("/home/me/shop", rel));
                assert.equal(resolveStatePath(`/abs/${rel}`, env, "/tmp/worktree"), path.join("/abs", rel));
            }),
        );
    });

    it("a local database's directory as the resource holds it (.keel/dev/<stack>) resolves in the checkout, with the checkout as its project", () => {
        const previous = process.env.KEEL_STATE_ROOT;
        process.env.KEEL_STATE_ROOT = "/home/me/shop";
        try {
            const p = pathsOfDir(".keel/dev/dev");
            assert.equal(p.dataDir, "/home/me/shop/.keel/dev/dev/pgdata");
            assert.equal(p.root, "/home/me/shop");
        } finally {
            if (previous === undefined) delete process.env.KEEL_STATE_ROOT;
            else process.env.KEEL_STATE_ROOT = previous;
        }
    });
});
