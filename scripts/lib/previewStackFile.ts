/**
 * Pulumi.pr-<n>.yaml, written from the base stack's file at every `keel pr up`
 * and `keel pr down` (components/previews/stackConfig.ts says what it takes and
 * what it replaces). The file is never committed (.gitignore): a fresh CI runner
 * writes the same file again, with the base's salt, so the secrets it copies
 * open with the same passphrase from run to run.
 */
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import type { KeelConfig } from "../../components/config";
import { PreviewsConfig, previewsSchema } from "../../components/config/previews";
import { previewStackName } from "../../components/previews/naming";
import { previewsOf, previewStackDoc, StackFileDoc } from "../../components/previews/stackConfig";
import { portsInUse } from "../stackNew";
import { hasSecure, readStackConfig, StackFileError } from "./stackConfig";
import { stacksIn } from "../../components/config/context";
import { nearest } from "../../components/masking/rules";

export interface PreviewBase {
    stack: string;
    config: KeelConfig;
    doc: StackFileDoc;
    previews: PreviewsConfig;
}

/**
 * The base stack, validated, with its previews' settings; a clear error for a mistyped name or, unless
 * `forRemoval`, a base that makes none (a preview made before its base stopped making them can still go).
 */
export function readPreviewBase(root: string, base: string, env: Record<string, string | undefined>, forRemoval = false): PreviewBase {
    const file = path.join(root, `Pulumi.${base}.yaml`);
    if (!fs.existsSync(file)) {
        const stacks = stacksIn(root).filter((s) => !/^pr-\d+$/.test(s));
        const guess = nearest(base, stacks);
        throw new StackFileError(
            `--from names the stack '${base}', which has no Pulumi.${base}.yaml (stacks: ${stacks.join(", ") || "none"})${guess ? `: did you mean --from ${guess}?` : ""}`,
        );
    }
    const config = readStackConfig(root, base, env);
    const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as StackFileDoc;
    // The preview takes the base's secrets as their ciphertexts: they open with the base's passphrase and salt only.
    // Another secrets provider (Pulumi Cloud's, a KMS key) seals them to the base stack itself.
    if (hasSecure(doc.config) && !doc.encryptionsalt) {
        throw new StackFileError(
            `Pulumi.${base}.yaml holds secrets sealed by the ${doc.secretsprovider ?? "Pulumi Cloud"} secrets provider, which open on the ${base} stack only: ` +
                `previews copy the base's secrets and need its passphrase secrets provider (npm run stack:new makes stacks with one). Nothing was created.`,
        );
    }
    const previews = forRemoval ? (config.previews ?? { ...previewsSchema.parse({}), data: "schema-only" as const }) : previewsOf(config);
    return { stack: base, config, doc, previews };
}

/** Writes the preview's file and returns its stack name. */
export function writePreviewStackFile(
    root: string,
    base: PreviewBase,
    run: { pr: number; branch: string; now: Date; createdAt?: string },
): string {
    const { pr, branch, now } = run;
    const stack = previewStackName(pr);
    const doc = previewStackDoc({
        pr,
        branch,
        base: { stack: base.stack, doc: base.doc, config: base.config },
        now,
        ...(run.createdAt ? { createdAt: run.createdAt } : {}),
        previews: base.previews,
        usedPorts: portsInUse(root, stack),
    });
    const header = [
        `# ${stack}: the preview of pull request #${pr}, written by \`keel pr up\` from Pulumi.${base.stack}.yaml at every run.`,
        `# Not committed (.gitignore): edit Pulumi.${base.stack}.yaml (keel:previews) instead.`,
        "",
    ].join("\n");
    fs.writeFileSync(
        path.join(root, `Pulumi.${stack}.yaml`),
        // Quoted: the engine's YAML reads an unquoted ISO time as a timestamp and hands the program another format.
        header + stringify(doc, { lineWidth: 0, defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" }),
    );
    return stack;
}
