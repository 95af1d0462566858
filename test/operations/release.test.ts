/** keel release next (components/operations/release.ts): the version logic as properties, the command on real git repositories. */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { processOperationsIo } from "../../components/operations/io";
import {
    Bump,
    formatVersion,
    lastReleaseTag,
    nextVersion,
    parseReleaseTag,
    releaseBump,
    releaseCreateArgs,
    releaseNext,
    Version,
} from "../../components/operations/release";
import { runKeel } from "../../cli/main";
import { tempDir } from "../support/tempDir";

const RANK: Record<Bump, number> = { none: 0, patch: 1, minor: 2, major: 3 };

// A plain object (fc.record's has no prototype), to compare with deepEqual.
const versionArb: fc.Arbitrary<Version> = fc
    .tuple(fc.nat({ max: 50 }), fc.nat({ max: 50 }), fc.nat({ max: 50 }))
    .map(([major, minor, patch]) => ({ major, minor, patch }));

/** A conventional commit and the bump it alone calls for, decided here without the code under test's patterns. */
const commitArb: fc.Arbitrary<{ message: string; bump: Bump }> = fc
    .record({
        type: fc.constantFrom("feat", "fix", "perf", "chore", "docs", "refactor", "test", "fixup", "feature"),
        scope: fc.option(fc.constantFrom("api", "db", "ci/cd"), { nil: undefined }),
        bang: fc.boolean(),
        conventional: fc.boolean(),
        footer: fc.constantFrom(
            "",
            "BREAKING CHANGE: renamed",
            "BREAKING-CHANGE: gone",
            "Not a BREAKING CHANGE: here",
            "breaking change: lower",
        ),
    })
    .map(({ type, scope, bang, conventional, footer }) => {
        const subject = conventional ? `${type}${scope ? `(${scope})` : ""}${bang ? "!" : ""}: a change` : `${type} a change`;
        const message = footer ? `${subject}\n\nbody\n${footer}` : subject;
        const breaking = (conventional && bang) || footer.startsWith("BREAKING");
        const bump: Bump = breaking
            ? "major"
            : !conventional
              ? "none"
              : type === "feat"
                ? "minor"
                : type === "fix" || type === "perf"
                  ? "patch"
                  : "none";
        return { message, bump };
    });

describe("keel release next", () => {
    describe("the version logic", () => {
        it("reads back the tags it writes; anything but vX.Y.Z is no release tag", () => {
            fc.assert(fc.property(versionArb, (v) => assert.deepEqual(parseReleaseTag(formatVersion(v)), v)));
            for (const tag of ["v1.2", "1.2.3", "v1.2.3-rc.1", "v1.2.3.4", "release-v1.2.3", "v1.2.x"])
                assert.equal(parseReleaseTag(tag), undefined, tag);
        });

        it("takes the highest release tag, whatever the order and the other tags", () => {
            const others = fc.array(fc.constantFrom("v1", "nightly", "v9.9.9-rc1", "x9.9.9", "v10.0"));
            const shuffled = fc.tuple(fc.array(versionArb, { minLength: 1 }), others).chain(([vs, rest]) => {
                const all = [...vs.map(formatVersion), ...rest];
                return fc.tuple(fc.constant(vs), fc.shuffledSubarray(all, { minLength: all.length }));
            });
            fc.assert(
                fc.property(shuffled, ([vs, tags]) => {
                    const highest = [...vs].sort((a, b) => b.major - a.major || b.minor - a.minor || b.patch - a.patch)[0];
                    assert.equal(lastReleaseTag(tags), formatVersion(highest));
                }),
            );
            assert.equal(lastReleaseTag(["nightly", "v1.2.3-rc.1"]), undefined);
            assert.equal(lastReleaseTag([]), undefined);
        });

        it("bumps by the strongest commit, in any order", () => {
            fc.assert(
                fc.property(fc.array(commitArb), (commits) => {
                    const strongest = commits.reduce<Bump>((b, c) => (RANK[c.bump] > RANK[b] ? c.bump : b), "none");
                    assert.equal(releaseBump(commits.map((c) => c.message)), strongest);
                    assert.equal(releaseBump(commits.map((c) => c.message).reverse()), strongest);
                }),
            );
        });

        it("goes to the next version above the last, resetting the lower parts", () => {
            fc.assert(
                fc.property(versionArb, fc.constantFrom<Exclude<Bump, "none">>("major", "minor", "patch"), (v, bump) => {
                    const next = parseReleaseTag(nextVersion(formatVersion(v), bump));
                    assert.ok(next);
                    const expected =
                        bump === "major"
                            ? { major: v.major + 1, minor: 0, patch: 0 }
                            : bump === "minor"
                              ? { major: v.major, minor: v.minor + 1, patch: 0 }
                              : { ...v, patch: v.patch + 1 };
                    assert.deepEqual(next, expected);
                    assert.equal(lastReleaseTag([formatVersion(v), formatVersion(next)]), formatVersion(next));
                }),
            );
            assert.equal(nextVersion(undefined, "minor"), "v0.1.0");
            assert.equal(nextVersion(undefined, "major"), "v1.0.0");
        });

        it("starts the notes at the last release when there is one", () => {
            assert.deepEqual(releaseCreateArgs("v1.0.0", "abc", undefined), [
                "release",
                "create",
                "v1.0.0",
                "--target",
                "abc",
                "--title",
                "v1.0.0",
                "--generate-notes",
            ]);
            assert.deepEqual(releaseCreateArgs("v1.0.1", "abc", "v1.0.0").slice(-2), ["--notes-start-tag", "v1.0.0"]);
        });
    });

    describe("the command, on a git repository", () => {
        /** A repository with a first commit, an optional tag, then the commits; gh on PATH logs its calls and knows `released`. */
        function repository(tag: string | undefined, messages: string[], released: string[] = []) {
            const dir = tempDir("keel-release-");
            const git = (...args: string[]) =>
                execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: dir, encoding: "utf8" });
            git("init", "-q");
            git("commit", "-q", "--allow-empty", "-m", "chore: start");
            if (tag) git("tag", tag);
            for (const m of messages) git("commit", "-q", "--allow-empty", "-m", m);
            const head = git("rev-parse", "HEAD").trim();
            const bin = path.join(dir, ".bin");
            fs.mkdirSync(bin);
            const log = path.join(dir, ".log");
            const known = released.map((r) => `[ "$3" = ${r} ] && exit 0`).join("\n");
            fs.writeFileSync(
                path.join(bin, "gh"),
                `#!/bin/bash\nif [ "$2" = view ]; then\n${known}\nexit 1\nfi\necho "gh $*" >> "${log}"\n`,
                { mode: 0o755 },
            );
            const env = { PATH: `${bin}:${process.env.PATH}`, HOME: dir };
            return { dir, head, env, gh: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").replace(head, "<head>").trim() : "") };
        }

        /** The keel command line in the repository, both its streams to `out`. */
        function keel(argv: string[], repo: { dir: string; env: Record<string, string | undefined> }, out: (text: string) => void) {
            return runKeel(argv, {
                root: repo.dir,
                env: repo.env,
                out,
                err: out,
                confirm: async () => false,
                exitCode: 0,
                redact: (t) => t,
            });
        }

        /** keel release next --target <head>, as release.yml runs it; what gh was asked to create and what was printed. */
        async function release(tag: string | undefined, messages: string[], released: string[] = []) {
            const repo = repository(tag, messages, released);
            let out = "";
            const code = await keel(["release", "next", "--target", repo.head], repo, (t) => void (out += t));
            assert.equal(code, 0, out);
            return { gh: repo.gh(), out: out.replace(repo.head, "<head>") };
        }

        it("bumps by the strongest conventional commit since the last tag", async () => {
            const minor = await release("v1.2.3", ["fix: a", "feat(api): b", "docs: c"]);
            assert.equal(minor.gh, "gh release create v1.3.0 --target <head> --title v1.3.0 --generate-notes --notes-start-tag v1.2.3");
            assert.match(minor.out, /^Releasing v1\.3\.0 \(minor\) at <head>, after v1\.2\.3\.$/m);
            assert.match((await release("v1.2.3", ["perf: faster"])).gh, /^gh release create v1\.2\.4 /);
            assert.match((await release("v1.2.3", ["fix: a", "refactor(db)!: drop x"])).gh, /^gh release create v2\.0\.0 /);
            assert.match((await release("v1.2.3", ["feat: a\n\nBREAKING CHANGE: config renamed"])).gh, /^gh release create v2\.0\.0 /);
            const first = await release(undefined, ["feat: first"]);
            assert.match(first.gh, /^gh release create v0\.1\.0 --target <head> --title v0\.1\.0 --generate-notes$/);
            assert.match(first.out, /after no earlier release\.$/m);
        });

        it("counts only the commits since the last tag", async () => {
            // The feat before v1.2.3 is released already: only the fix after it counts.
            const repo = repository(undefined, ["feat: old"]);
            execFileSync("git", ["tag", "v1.2.3"], { cwd: repo.dir });
            execFileSync(
                "git",
                ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "fix: new"],
                { cwd: repo.dir },
            );
            const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repo.dir, encoding: "utf8" }).trim();
            const io = processOperationsIo(repo.dir, repo.env, () => undefined);
            assert.equal(await releaseNext(head, io), 0);
            assert.match(repo.gh(), /^gh release create v1\.2\.4 /);
        });

        it("releases nothing without a feat, fix, perf or breaking commit, nor a version already released", async () => {
            const none = await release("v1.2.3", ["chore: deps", "docs: readme", "fixup typo"]);
            assert.equal(none.gh, "");
            assert.match(none.out, /^No feat, fix, perf or breaking commit since v1\.2\.3: nothing to release\.$/m);
            const again = await release("v1.2.3", ["fix: a"], ["v1.2.4"]);
            assert.equal(again.gh, "");
            assert.match(again.out, /^v1\.2\.4 is already released\.$/m);
        });

        it("fails with the runner's error annotation, naming the fix, when gh cannot create the release", async () => {
            const repo = repository("v1.2.3", ["fix: a"]);
            let out = "";
            const real = processOperationsIo(repo.dir, repo.env, (t) => void (out += t));
            const io = {
                ...real,
                run: async (command: string, args: string[]) =>
                    command === "gh" && args[1] === "create"
                        ? { status: 1, stdout: "", stderr: "HTTP 403: Resource not accessible by integration", output: "" }
                        : real.run(command, args),
            };
            await assert.rejects(
                releaseNext(repo.head, io),
                /Could not create the release v1\.2\.4: HTTP 403.*permissions: contents: write/,
            );
            const code = await keel(["release", "next", "--target", "no-such-commit"], repo, (t) => void (out += t));
            assert.equal(code, 1, out);
            assert.match(out, /^::error::Could not list the tags merged into no-such-commit: .*fetch-depth: 0/m);
        });
    });
});
