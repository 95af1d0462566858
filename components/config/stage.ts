/**
 * Stage-aware defaults, in one place: what differs between dev, staging,
 * prod and the pull requests' previews unless the stack's config says otherwise.
 * A preview stack (`pr-<n>`) is made and removed by `keel pr up|down`, never by hand.
 */
import { prOfStack } from "../previews/naming";

export const STAGES = ["dev", "staging", "prod", "preview"] as const;
export type Stage = (typeof STAGES)[number];

export function isStage(v: unknown): v is Stage {
    return typeof v === "string" && (STAGES as readonly string[]).includes(v);
}

/** The stages a stack may be given by hand (keel stack new, keel:stage); a preview is made by `keel pr up`. */
export const MANUAL_STAGES = ["dev", "staging", "prod"] as const satisfies readonly Stage[];

/**
 * The stage a stack has, the one rule the program, the providers, the policy
 * pack and the scripts share: its keel:stage when set; else, from its name,
 * dev, staging or prod for a stack so named and preview for `pr-<n>`; undefined
 * when neither names one (config validation reports it; the policy pack judges
 * such a stack as prod). A stack named `preview` is not a preview by its name:
 * only `keel pr up` makes previews, and only as `pr-<n>`.
 */
export function stageOf(stack: string, configuredStage?: string): Stage | undefined {
    if (configuredStage) return isStage(configuredStage) ? configuredStage : undefined;
    if ((MANUAL_STAGES as readonly string[]).includes(stack)) return stack as Stage;
    return prOfStack(stack) !== undefined ? "preview" : undefined;
}

/** keel:backend.watch's settings that do not depend on the stage (minutes does: StageDefaults.backend.watchMinutes). */
export const WATCH_DEFAULTS = { intervalSeconds: 20, failures: 3 } as const;
/** The longest watch: deploy.yml's timeouts leave room for it and a rollback; watching longer is the monitor's job. */
export const WATCH_MAX_MINUTES = 30;

export interface StageDefaults {
    /** Pulumi `protect` on resources that hold data or serve users. */
    protect: boolean;
    /** Pulumi `retainOnDelete` on the same resources. */
    retainOnDelete: boolean;
    database: {
        /** The kind a stack that names none and has no URL gets: dev runs its own (local); shared stages choose. */
        kind?: "local";
        /** The kind a fix suggests. */
        suggestedKind: "local" | "neon";
        neon: {
            /** Autoscaling's upper bound, in compute units. */
            maxCu: number;
            /** Idle seconds before the endpoint suspends; -1: never. */
            suspendTimeoutSeconds: number;
            /** Neon's branch protection. */
            branchProtected: boolean;
        };
    };
    migrations: {
        lockTimeout: string;
        statementTimeout: string;
        lockWaitSeconds: number;
        /** Take a backup before `pulumi up` applies migrations. */
        backup: boolean;
        /** How many pg_dump backups of the stack to keep. */
        keepBackups: number;
    };
    backend: {
        /** Fly rollout: rolling (one machine at a time), bluegreen, or immediate (dev only). */
        strategy: "rolling" | "bluegreen" | "immediate";
        /** Fly autostop: prod machines stay up; others sleep when idle. */
        autostop: "off" | "stop" | "suspend";
        minMachinesRunning: number;
        /** Render instances. */
        instances: number;
        /**
         * Minutes deploy.yml watches the health URLs after a successful `pulumi up`, rolling
         * back on consecutive failures (keel:backend.watch.minutes); 0 is no watch.
         */
        watchMinutes: number;
    };
}

export function stageDefaults(stage: Stage): StageDefaults {
    const production = stage === "prod";
    // A preview lives for days and is thrown away: the smallest sizes, no backups, no protection.
    const preview = stage === "preview";
    return {
        protect: production,
        retainOnDelete: production,
        database: {
            ...(stage === "dev" ? { kind: "local" as const, suggestedKind: "local" as const } : { suggestedKind: "neon" as const }),
            // Prod stays warm and may grow; other stages sleep after 5 minutes idle.
            neon: {
                maxCu: production ? 2 : preview ? 0.25 : 1,
                suspendTimeoutSeconds: production ? -1 : 300,
                branchProtected: production,
            },
        },
        migrations: {
            // Short lock waits in shared environments keep a migration from queueing behind
            // a long transaction and blocking every query that arrives after it.
            lockTimeout: stage === "dev" ? "10s" : "5s",
            statementTimeout: "5min",
            lockWaitSeconds: stage === "dev" ? 30 : 120,
            // Shared environments hold data someone cares about: no migration without a backup.
            // (A preview's data is a copy or a seed, recreated by `keel pr up`.)
            backup: stage !== "dev" && !preview,
            keepBackups: production ? 10 : stage === "staging" ? 5 : 3,
        },
        backend: {
            strategy: stage === "dev" || preview ? "immediate" : "rolling",
            autostop: production ? "off" : "stop",
            minMachinesRunning: production ? 1 : 0,
            // Two instances keep prod serving while one restarts or is replaced.
            instances: production ? 2 : 1,
            // Prod is rolled back by itself when a deploy that passed its health check goes bad
            // within minutes; elsewhere a bad deploy waits for a person.
            watchMinutes: production ? 5 : 0,
        },
    };
}

/**
 * The keys whose default depends on the stage, each with where StageDefaults holds it: what the
 * generated config reference (reference.ts) lists per stage.
 */
export const STAGE_DEFAULTED_KEYS: Readonly<Record<string, (d: StageDefaults) => unknown>> = {
    "database.kind": (d) => d.database.kind,
    "database.neon.branch.protected": (d) => d.database.neon.branchProtected,
    "database.neon.endpoint.maxCu": (d) => d.database.neon.maxCu,
    "database.neon.endpoint.suspendTimeoutSeconds": (d) => d.database.neon.suspendTimeoutSeconds,
    "migrations.lockTimeout": (d) => d.migrations.lockTimeout,
    "migrations.statementTimeout": (d) => d.migrations.statementTimeout,
    "migrations.lockWaitSeconds": (d) => d.migrations.lockWaitSeconds,
    "migrations.backup": (d) => d.migrations.backup,
    "migrations.keepBackups": (d) => d.migrations.keepBackups,
    "backend.watch.minutes": (d) => d.backend.watchMinutes,
    "backend.fly.strategy": (d) => d.backend.strategy,
    "backend.fly.autostop": (d) => d.backend.autostop,
    "backend.fly.minMachinesRunning": (d) => d.backend.minMachinesRunning,
    "backend.render.instances": (d) => d.backend.instances,
};
