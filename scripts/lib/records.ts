/**
 * Keel's records of a stack (components/records/record.ts), kept where the
 * stack's state is: one object per event under
 * `.keel/records/<project>/<stack>/` of the self-managed backend (a directory,
 * S3, GCS, Azure Blob), written with create-if-absent so two writers never
 * overwrite each other. A laptop and a CI job with the same PULUMI_BACKEND_URL
 * read the same records. Objects never change once written: what was read
 * before comes from the deploy cache.
 *
 * Pulumi Cloud keeps no objects of ours: there the metrics come from the
 * stack history alone (deploys, rollbacks) and `append` says once that the
 * record was not kept.
 */
import { randomBytes } from "crypto";
import * as path from "path";
import { byTime, KeelRecord, parseRecord, recordName } from "../../components/records/record";
import { stateRoot } from "../../components/stateRoot";
import { DeployCache } from "./deployCache";
import { mapLimit, selfManagedState } from "./stackHistory";

export const RECORDS_DIR = ".keel/records";

export function recordsDir(project: string, stack: string): string {
    return `${RECORDS_DIR}/${project}/${stack}/`;
}

export interface RecordLog {
    /** Where the records are, for messages; undefined on Pulumi Cloud. */
    readonly where?: string;
    /** Keeps the record; false (and nothing thrown) when it could not be kept: a record never fails the operation it describes. */
    append(record: KeelRecord): Promise<boolean>;
    /** The stack's records, oldest first. */
    list(): Promise<KeelRecord[]>;
}

export interface RecordLogOptions {
    /** Told why a record was not kept (a log line: never an error). */
    warn?: (line: string) => void;
    cacheDir?: string;
}

export function recordLog(
    root: string,
    stack: string,
    env: Record<string, string | undefined> = process.env,
    options: RecordLogOptions = {},
): RecordLog {
    const warn = options.warn ?? (() => undefined);
    let state: ReturnType<typeof selfManagedState>;
    try {
        state = selfManagedState(root, env);
    } catch (err) {
        const why = String((err as Error)?.message ?? err);
        return {
            append: async () => {
                warn(`keel: the record was not kept: ${why}`);
                return false;
            },
            list: async () => [],
        };
    }
    if (!state) {
        return {
            append: async (r) => {
                warn(
                    `keel: the ${r.kind} record of ${stack} was not kept: Pulumi Cloud holds no objects of Keel's; ` +
                        `metrics there come from the stack history alone`,
                );
                return false;
            },
            list: async () => [],
        };
    }
    const { store, project } = state;
    const dir = recordsDir(project, stack);
    return {
        where: `${store.display}/${dir}`,
        async append(record) {
            const key = `${dir}${recordName(record, randomBytes(4).toString("hex"))}`;
            try {
                await store.createIfAbsent(key, JSON.stringify(record));
                return true;
            } catch (err) {
                warn(`keel: the ${record.kind} record of ${stack} was not kept: ${String((err as Error)?.message ?? err)}`);
                return false;
            }
        },
        async list() {
            const objects = (await store.list(dir)).filter((o) => o.key.endsWith(".json"));
            const cache = new DeployCache(
                options.cacheDir ?? path.join(stateRoot(env, path.resolve(root)), ".keel", "cache", "records"),
                `${store.display} ${project}/${stack} records`,
            );
            const records = await mapLimit(objects, 16, async (o) => {
                const cached = cache.get<{ r?: KeelRecord }>(o, undefined);
                if (cached) return cached.r;
                const bytes = await store.read(o.key);
                const r = bytes ? parseRecord(bytes.toString("utf8")) : undefined;
                cache.set(o, undefined, r ? { r } : {});
                return r;
            });
            cache.save();
            return byTime(records.filter((r): r is KeelRecord => !!r && r.stack === stack));
        },
    };
}

/** Keeps one record of `stack`; one that cannot be kept is said through `say` (append never throws): true when kept. */
export function keepRecord(
    root: string,
    stack: string,
    env: Record<string, string | undefined>,
    record: KeelRecord,
    say: (line: string) => void,
): Promise<boolean> {
    return recordLog(root, stack, env, { warn: say }).append(record);
}
