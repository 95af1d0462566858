/**
 * Keel's CrossGuard policy pack "keel": what `pulumi preview|up --policy-pack policies`
 * lets through, per stage (dev, staging, prod from the stack's name, preview for a
 * pull request's pr-<n>; any other stack name is judged as prod). One rule per file in rules/, shared helpers in
 * support.ts; this file only assembles the pack.
 *
 * Run from the repository root, after `npm ci`: `npm run preview|up -- <stack>`
 * loads it for every stack but dev (scripts/stack.ts), as policies/analyzer.js,
 * which the engine starts by itself. With a standard Pulumi install, whose
 * nodejs language host runs the program too, also by hand:
 *
 *     pulumi preview --stack prod --policy-pack policies
 *     pulumi up --stack prod --policy-pack policies
 *
 * For a directory the engine needs that language host; Keel's own CLI (npm run
 * pulumi:build) has none, hence analyzer.js, which runs what the host would:
 * @pulumi/pulumi/cmd/run-policy-pack with policies/ as working directory, which
 * registers ts-node (type-checking) and requires this file.
 *
 * Layout: Node's lookup from policies/ walks up to the repository's
 * node_modules: @pulumi/policy (pinned in the root package.json),
 * @pulumi/pulumi, typescript and ts-node all come from there and policies/
 * needs no install of its own. policies/package.json exists only
 * because PolicyPack reads the pack's version from `<cwd>/package.json` (it has
 * no dependencies); policies/tsconfig.json gives ts-node the root's compiler
 * options. The rules are pure functions tested in test/policies/; constructing
 * PolicyPack starts the gRPC server, so only this file does it.
 */
import { PolicyPack } from "@pulumi/policy";
import { backupsBeforeMigrate } from "./rules/backupsBeforeMigrate";
import { destructiveMigrations } from "./rules/destructiveMigrations";
import { noDockerDatabaseInProd } from "./rules/noDockerDatabaseInProd";
import { noPlaintextSecrets } from "./rules/noPlaintextSecrets";
import { previewIsolatedFromProd } from "./rules/previewIsolatedFromProd";
import { prodBackendSafeDeploys } from "./rules/prodBackendSafeDeploys";
import { prodBranchProtected } from "./rules/prodBranchProtected";
import { prodResourcesProtected } from "./rules/prodResourcesProtected";
import { keepSecretsVisible } from "./support";

// Let no-plaintext-secrets tell secrets from plain text (see support.ts).
keepSecretsVisible();

new PolicyPack("keel", {
    description:
        "Keel's gates per stage: migrations, backups, prod's database, protection, safe deploys, branch gates, secrets, previews kept from prod.",
    policies: [
        destructiveMigrations,
        backupsBeforeMigrate,
        noDockerDatabaseInProd,
        prodResourcesProtected,
        prodBackendSafeDeploys,
        prodBranchProtected,
        noPlaintextSecrets,
        previewIsolatedFromProd,
    ],
});
