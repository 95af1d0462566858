/**
 * The fixes Keel prints name commands that work as the user has them: the
 * Pulumi CLI is Keel's own (.keel/bin/pulumi, not on PATH), reached through
 * `npm run pulumi --`, so a bare `pulumi config set …` in a message (or in a
 * stack file's comment) is a command the user cannot run.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./support/repoRoot";

/** Every source and stack file whose text a user may read: messages, fixes, policy remediations, stack-file comments. */
function userFacingFiles(): string[] {
    const files: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(full);
            else if (/\.(ts|js)$/.test(entry.name)) files.push(full);
        }
    };
    for (const dir of ["components", "scripts", "cli", "policies"]) walk(path.join(ROOT, dir));
    files.push(path.join(ROOT, "index.ts"));
    for (const f of fs.readdirSync(ROOT)) if (/^Pulumi(\..+)?\.yaml$/.test(f)) files.push(path.join(ROOT, f));
    return files;
}

/** `pulumi config set|rm|get` not preceded by `npm run pulumi -- `: the lines that say it, as file:line. */
export function barePulumiConfig(text: string): number[] {
    return text
        .split("\n")
        .map((line, i) => (/(?<!npm run (-s )?pulumi -- )\bpulumi config (set|rm|get)\b/.test(line) ? i + 1 : 0))
        .filter((n) => n > 0);
}

describe("fix hints name commands that work", () => {
    it("the rule: bare `pulumi config set` is found, `npm run pulumi -- config set` is not", () => {
        assert.deepEqual(barePulumiConfig("fix: pulumi config set --path keel:x 1 --stack dev"), [1]);
        assert.deepEqual(barePulumiConfig("ok\nfix: npm run pulumi -- config rm keel:x --stack dev\n`pulumi config get keel:y`"), [3]);
        assert.deepEqual(barePulumiConfig("fix: npm run -s pulumi -- config get keel:x"), []);
    });

    it("no message, fix, remediation or stack-file comment says a bare `pulumi config …`", () => {
        const found = userFacingFiles().flatMap((f) =>
            barePulumiConfig(fs.readFileSync(f, "utf8")).map((line) => `${path.relative(ROOT, f)}:${line}`),
        );
        assert.deepEqual(found, [], "say `npm run pulumi -- config …` instead");
    });

    it("dev:start points to npm run db:url for the URL, as the README does", () => {
        const dev = fs.readFileSync(path.join(ROOT, "scripts", "dev.ts"), "utf8");
        assert.doesNotMatch(dev, /stack output databaseUrl/);
        assert.match(dev, /its URL, with the password: npm run -s db:url/);
    });
});
