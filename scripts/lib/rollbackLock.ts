/**
 * One rollback of a stack at a time, wherever its state is. Pulumi's own lock
 * (.pulumi/locks/…) is held only while one engine command runs, and a
 * rollback runs several (the target's preview, a restore, its update): two
 * started together (the Rollback button and the health watch's automatic
 * rollback) would both pass every check. Keel's lock is one object beside the
 * state, `.keel/locks/<project>/<stack>.rollback.json`, created only if absent
 * (S3 If-None-Match, GCS ifGenerationMatch=0, Azure If-None-Match, O_EXCL):
 * the second rollback is refused, naming the first. Pulumi Cloud has no such
 * object; there its own update lock is the only guard.
 */
import { randomUUID } from "crypto";
import * as os from "os";
import { KeelError } from "../../components/errors";
import { selfManagedState } from "./stackHistory";
import type { StateStore } from "./stateStore";

export class RollbackLockedError extends KeelError {
    constructor(message: string) {
        super(message, "RollbackLockedError");
    }
}

export interface LockHolder {
    id: string;
    pid: number;
    username: string;
    hostname: string;
    timestamp: string;
    /** The GitHub Actions run holding it, when it runs there. */
    run?: string;
}

export interface RollbackLock {
    release(): Promise<void>;
}

const lockKey = (project: string, stack: string) => `.keel/locks/${project}/${stack}.rollback.json`;

export function describeHolder(h: LockHolder): string {
    return `pid ${h.pid} of ${h.username}@${h.hostname} since ${h.timestamp}${h.run ? `, ${h.run}` : ""}`;
}

/** A holder on this machine whose process is gone left the lock behind (killed, or the machine's clock says so). */
function isDeadHere(h: LockHolder): boolean {
    if (h.hostname !== os.hostname()) return false;
    try {
        process.kill(h.pid, 0);
        return false;
    } catch (err: any) {
        return err.code === "ESRCH";
    }
}

async function readHolder(store: StateStore, key: string): Promise<LockHolder | undefined> {
    const bytes = await store.read(key);
    if (!bytes) return undefined;
    try {
        return JSON.parse(bytes.toString("utf8")) as LockHolder;
    } catch {
        return { id: "?", pid: 0, username: "?", hostname: "?", timestamp: "?" };
    }
}

/** Takes the stack's rollback lock, or refuses naming who holds it. */
export async function acquireRollbackLock(root: string, stack: string, env: Record<string, string | undefined>): Promise<RollbackLock> {
    const state = selfManagedState(root, env);
    if (!state) return { release: async () => undefined };
    const { store } = state;
    const key = lockKey(state.project, stack);
    const me: LockHolder = {
        id: randomUUID(),
        pid: process.pid,
        username: os.userInfo().username,
        hostname: os.hostname(),
        timestamp: new Date().toISOString(),
        ...(env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY
            ? { run: `${env.GITHUB_SERVER_URL ?? "https://github.com"}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` }
            : {}),
    };
    for (let attempt = 0; attempt < 2; attempt++) {
        if (await store.createIfAbsent(key, JSON.stringify(me))) {
            // A store that ignored the condition let a second writer overwrite the first: the one whose id is there holds it.
            const there = await readHolder(store, key);
            if (there?.id === me.id) return { release: () => releaseIfMine(store, key, me.id) };
        }
        const holder = await readHolder(store, key);
        if (holder && attempt === 0 && isDeadHere(holder)) {
            await store.remove(key);
            continue;
        }
        throw new RollbackLockedError(
            `another rollback of the ${stack} stack is running (${holder ? describeHolder(holder) : "its holder just left"}): nothing was changed; ` +
                `wait for it to end and look at its result. If it was killed and nothing runs, remove its lock with: npm run rollback -- --stack ${stack} --unlock`,
        );
    }
    throw new RollbackLockedError(`the ${stack} stack's rollback lock could not be taken: try again`);
}

async function releaseIfMine(store: StateStore, key: string, id: string): Promise<void> {
    const holder = await readHolder(store, key);
    if (holder?.id === id) await store.remove(key);
}

/** Removes the stack's rollback lock (after a killed rollback); says whose it was, or undefined when there was none. */
export async function breakRollbackLock(
    root: string,
    stack: string,
    env: Record<string, string | undefined>,
): Promise<LockHolder | undefined> {
    const state = selfManagedState(root, env);
    if (!state) return undefined;
    const { store } = state;
    const key = lockKey(state.project, stack);
    const holder = await readHolder(store, key);
    if (holder) await store.remove(key);
    return holder;
}
