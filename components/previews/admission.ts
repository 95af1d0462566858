/**
 * Whether a pull request may have a preview now, and whether its database must
 * be made again: the rules `keel pr up` applies before it changes anything.
 * Pure: no Pulumi imports.
 */
import { KeelError } from "../errors";
import { previewBranchName, previewStackName } from "./naming";

export class PreviewRefusedError extends KeelError {
    constructor(message: string) {
        super(message, "PreviewRefusedError");
    }
}

/** Neon's Free plan: 10 branches a project. */
export const NEON_FREE_PLAN_BRANCHES = 10;

export interface Admission {
    pr: number;
    /** keel:previews.max of the base. */
    max: number;
    /** The previews there are (their pull requests), this one's included when it exists. */
    open: number[];
    /** On Neon: every branch of the project (staging's snapshots included) and how many the plan allows. */
    neon?: { branches: string[]; limit: number };
    /** The pull request's head repository and the base's (owner/name); a fork's differ. */
    headRepository?: string;
    repository?: string;
}

/** Why the preview cannot be made or updated, or undefined when it can. An existing preview is always updated. */
export function admissionRefusal(a: Admission): string | undefined {
    if (a.headRepository && a.repository && a.headRepository.toLowerCase() !== a.repository.toLowerCase()) {
        return (
            `pull request #${a.pr} comes from the fork ${a.headRepository}: pull requests from forks never get a preview ` +
            `(it would run their code with this repository's secrets). Nothing was created.`
        );
    }
    if (a.open.includes(a.pr)) return undefined;
    if (a.open.length >= a.max) {
        const names = [...a.open].sort((x, y) => x - y).map((n) => `#${n} (${previewStackName(n)})`);
        return (
            `${a.open.length} previews are open, keel:previews.max is ${a.max}: ${names.join(", ")}. ` +
            `Close one (npm run pr:down -- --pr <n>), remove the closed ones (npm run pr:reap), or raise the limit ` +
            `(npm run pulumi -- config set --path keel:previews.max ${a.max + 1} --stack <base>). Nothing was created.`
        );
    }
    if (a.neon && !a.neon.branches.includes(previewBranchName(a.pr)) && a.neon.branches.length >= a.neon.limit) {
        return (
            `the Neon project has ${a.neon.branches.length} branches and its plan allows ${a.neon.limit} ` +
            `(${a.neon.branches.join(", ")}): a preview's branch would not fit. Remove old snapshot or preview branches ` +
            `(npm run pr:reap removes previews of closed pull requests), or raise keel:previews.neonBranchLimit if your plan allows more. Nothing was created.`
        );
    }
    return undefined;
}

/** An applied migration and the file now at its version. */
export interface AppliedMigration {
    version: string;
    checksum: string;
}
export interface MigrationFile {
    version: string;
    checksum: string;
    path: string;
}

/** The files whose applied version ran with other contents: the pull request rewrote them, so its database is made again. */
export function rewrittenMigrations(applied: AppliedMigration[], files: MigrationFile[]): string[] {
    const byVersion = new Map(files.map((f) => [f.version, f]));
    return applied.flatMap((a) => {
        const f = byVersion.get(a.version);
        return f && f.checksum !== a.checksum ? [f.path] : [];
    });
}
