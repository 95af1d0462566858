/**
 * Stage-aware defaults, in one place: what differs between dev, staging and
 * prod unless the stack's config says otherwise.
 */
export const STAGES = ["dev", "staging", "prod"] as const;
export type Stage = (typeof STAGES)[number];

export interface StageDefaults {
    /** Pulumi `protect` on resources that hold data or serve users. */
    protect: boolean;
    /** Pulumi `retainOnDelete` on the same resources. */
    retainOnDelete: boolean;
    migrations: {
        lockTimeout: string;
        statementTimeout: string;
        lockWaitSeconds: number;
        /** Take a backup before `pulumi up` applies migrations. */
        backup: boolean;
        /** How many pg_dump backups of the stack to keep. */
        keepBackups: number;
    };
}

export function stageDefaults(stage: Stage): StageDefaults {
    const production = stage === "prod";
    return {
        protect: production,
        retainOnDelete: production,
        migrations: {
            // Short lock waits in shared environments keep a migration from queueing behind
            // a long transaction and blocking every query that arrives after it.
            lockTimeout: stage === "dev" ? "10s" : "5s",
            statementTimeout: "5min",
            lockWaitSeconds: stage === "dev" ? 30 : 120,
            // Shared environments hold data someone cares about: no migration without a backup.
            backup: stage !== "dev",
            keepBackups: production ? 10 : stage === "staging" ? 5 : 3,
        },
    };
}
