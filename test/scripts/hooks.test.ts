/**
 * keel hooks install|uninstall (scripts/hooks.ts, built) in real repositories:
 * what they set, that a second run changes nothing, the polite refusals, and the
 * committed hook itself (executable in git's index).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { buildKeel, GitRepo, ROOT } from "../support/gitRepo";

/** A repository with a copy of Keel's hook (a copy: these tests change its mode). */
function repoWithHookCopy(): GitRepo {
    const repo = new GitRepo();
    fs.mkdirSync(path.join(repo.dir, ".githooks"));
    fs.copyFileSync(path.join(ROOT, ".githooks", "pre-commit"), path.join(repo.dir, ".githooks", "pre-commit"));
    fs.chmodSync(path.join(repo.dir, ".githooks", "pre-commit"), 0o755);
    return repo;
}

const hooksPath = (repo: GitRepo) => {
    const r = repo.run("git", ["config", "--local", "--get", "core.hooksPath"]);
    return r.code === 0 ? r.stdout.trim() : undefined;
};

describe("hooks:install and hooks:uninstall", function () {
    this.timeout(60000);

    before(() => buildKeel());

    it("install sets core.hooksPath to .githooks and says so; a second install changes nothing", () => {
        const repo = repoWithHookCopy();
        const first = repo.keel("hooks", ["install"]);
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stdout, /^installed: git config --local core\.hooksPath \.githooks\./);
        assert.match(first.stdout, /git commit --no-verify skips it once/);
        assert.equal(hooksPath(repo), ".githooks");
        const config = fs.readFileSync(path.join(repo.dir, ".git", "config"), "utf8");

        const second = repo.keel("hooks", ["install"]);
        assert.equal(second.code, 0, second.stderr);
        assert.match(second.stdout, /^already installed: core\.hooksPath is \.githooks .*nothing changed/);
        assert.equal(fs.readFileSync(path.join(repo.dir, ".git", "config"), "utf8"), config, "the config is untouched");
    });

    it("install from a subdirectory sets the same path (git resolves it from the top)", () => {
        const repo = repoWithHookCopy();
        fs.mkdirSync(path.join(repo.dir, "scripts"));
        const r = repo.run(process.execPath, [path.join(ROOT, "dist/cli/main.js"), "hooks", "install"], "scripts");
        assert.equal(r.code, 0, r.stderr);
        assert.equal(hooksPath(repo), ".githooks");
    });

    it("uninstall unsets it; a second uninstall changes nothing", () => {
        const repo = repoWithHookCopy();
        assert.equal(repo.keel("hooks", ["install"]).code, 0);
        const first = repo.keel("hooks", ["uninstall"]);
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stdout, /^uninstalled: core\.hooksPath \(\.githooks\) unset/);
        assert.equal(hooksPath(repo), undefined);
        const second = repo.keel("hooks", ["uninstall"]);
        assert.equal(second.code, 0, second.stderr);
        assert.match(second.stdout, /^not installed: .*nothing changed/);
    });

    it("refuses politely outside a git repository, and changes nothing", () => {
        const dir = new GitRepo({ init: false });
        const r = dir.keel("hooks", ["install"]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^error: .* is not inside a git work tree .*Run npm run hooks:install in a clone of the repository/);
        assert.equal(fs.existsSync(path.join(dir.dir, ".git")), false);
        const u = dir.keel("hooks", ["uninstall"]);
        assert.equal(u.code, 1);
        assert.match(u.stderr, /not inside a git work tree/);
    });

    it("refuses a repository without .githooks/pre-commit", () => {
        const repo = new GitRepo();
        const r = repo.keel("hooks", ["install"]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /\.githooks\/pre-commit does not exist/);
        assert.equal(hooksPath(repo), undefined);
    });

    it("leaves another core.hooksPath alone unless --force; uninstall never removes someone else's", () => {
        const repo = repoWithHookCopy();
        repo.git("config", "core.hooksPath", ".husky");
        const refused = repo.keel("hooks", ["install"]);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /already sets core\.hooksPath to \.husky .*nothing changed.*--force/);
        assert.equal(hooksPath(repo), ".husky");
        const u = repo.keel("hooks", ["uninstall"]);
        assert.equal(u.code, 0);
        assert.match(u.stdout, /core\.hooksPath is \.husky, not Keel's \.githooks: left as it is/);
        assert.equal(hooksPath(repo), ".husky");

        const forced = repo.keel("hooks", ["install", "--force"]);
        assert.equal(forced.code, 0, forced.stderr);
        assert.match(forced.stdout, /\(it was \.husky\)/);
        assert.equal(hooksPath(repo), ".githooks");
    });

    it("makes the hook executable when a checkout lost the bit, and names hooks in .git/hooks that stop running", () => {
        const repo = repoWithHookCopy();
        const hook = path.join(repo.dir, ".githooks", "pre-commit");
        fs.chmodSync(hook, 0o644);
        fs.writeFileSync(path.join(repo.dir, ".git", "hooks", "pre-push"), "#!/bin/sh\n", { mode: 0o755 });
        const r = repo.keel("hooks", ["install"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /made \.githooks\/pre-commit executable/);
        assert.match(r.stdout, /note: git no longer runs the hooks in \.git\/hooks \(pre-push\)/);
        assert.equal(fs.statSync(hook).mode & 0o111, 0o111);
    });

    it("answers --help with exit 0, and a wrong option or command with the usage and exit 2", () => {
        const repo = new GitRepo();
        const help = repo.keel("hooks", ["install", "--help"]);
        assert.equal(help.code, 0);
        assert.match(help.stdout, /^Usage: keel hooks install \[options\][\s\S]*--force/);
        const all = repo.keel("hooks", ["--help"]);
        assert.equal(all.code, 0);
        assert.match(all.stdout, /^ {2}install\b[\s\S]*^ {2}uninstall\b[\s\S]*^ {2}pre-commit\b/m);
        const wrong = repo.keel("hooks", ["uninstall", "--force"]);
        assert.equal(wrong.code, 2);
        assert.match(wrong.stderr, /unknown option '--force'[\s\S]*Usage: keel hooks uninstall/);
        const none = repo.keel("hooks", ["reinstall"]);
        assert.equal(none.code, 2);
        assert.match(none.stderr, /unknown command 'reinstall'/);
        assert.equal(hooksPath(repo), undefined, "nothing was set");
    });

    it("the hook is committed executable and the npm scripts run these commands", () => {
        const staged = new GitRepo({ init: false }).run("git", ["-C", ROOT, "ls-files", "-s", "--", ".githooks/pre-commit"]);
        assert.match(staged.stdout, /^100755 /, "git's index holds .githooks/pre-commit as executable");
        const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts;
        assert.equal(scripts["hooks:install"], "node keel hooks install");
        assert.equal(scripts["hooks:uninstall"], "node keel hooks uninstall");
        assert.match(
            fs.readFileSync(path.join(ROOT, ".githooks", "pre-commit"), "utf8"),
            /^exec node "\$keel\/dist\/cli\/main\.js" hooks pre-commit "\$@"$/m,
        );
    });
});
