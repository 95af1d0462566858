/**
 * schema:status | schema:apply | schema:new | schema:resolve — the migration
 * engine against DATABASE_URL, for local work. Exits non-zero on any failure.
 *
 *   npm run schema:status
 *   npm run schema:apply
 *   npm run schema:new -- add_orders
 *   npm run schema:resolve -- 20240101120000 --applied|--rolled-back
 *   (any of them) --dir <migrations dir>  --history-schema <schema>
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KeelError } from "../components/errors";
import { describeTarget } from "../components/schema/connection";
import { isPgDuration, MIGRATION_FILE_PATTERN, parseMigrations, scanMigrations } from "../components/schema/migrationSet";
import { applyMigrations, assertRunnable, DEFAULT_ENGINE_SETTINGS, EngineSettings, inspectSchema, resolveMigration } from "../components/schema/runner";

class UsageError extends KeelError {}

const USAGE = `usage: npm run schema:<status|apply|new|resolve> -- [args]
  status                          list applied and pending migrations
  apply                           apply pending migrations
  new <name>                      create <dir>/<version>_<name>.sql
  resolve <version> --applied     a failed no-transaction migration is complete: record it as applied
  resolve <version> --rolled-back its changes were undone: remove its row so it runs again
options:
  --dir <path>             migrations directory (default: migrations)
  --history-schema <name>  schema of keel_schema_history (default: public)
  --lock-wait <seconds>    how long to wait for another runner (default: 60)
  --fingerprint            status: also print the schema fingerprint (reads the whole catalog)
  --allow-missing, --out-of-order, --baseline <version>
the database is DATABASE_URL (a direct URL, not a pooled one).`;

interface Args {
    command: string;
    positional: string[];
    flags: Map<string, string | true>;
}

function parseArgs(argv: string[]): Args {
    const [command = "", ...rest] = argv;
    const positional: string[] = [];
    const flags = new Map<string, string | true>();
    const valued = new Set(["--dir", "--history-schema", "--lock-wait", "--baseline", "--lock-timeout", "--statement-timeout"]);
    const switches = new Set(["--allow-missing", "--out-of-order", "--fingerprint", "--applied", "--rolled-back"]);
    for (let i = 0; i < rest.length; i++) {
        const a = rest[i];
        if (a.startsWith("--")) {
            const [k, v] = a.split("=", 2);
            if (!valued.has(k) && !switches.has(k)) throw new UsageError(`unknown option '${k}'`);
            if (v !== undefined) flags.set(k, v);
            else if (valued.has(k)) {
                if (i + 1 >= rest.length) throw new UsageError(`${k} needs a value`);
                flags.set(k, rest[++i]);
            } else flags.set(k, true);
        } else positional.push(a);
    }
    return { command, positional, flags };
}

function settingsFrom(flags: Map<string, string | true>): EngineSettings {
    const str = (k: string) => (typeof flags.get(k) === "string" ? (flags.get(k) as string) : undefined);
    const baseline = str("--baseline");
    // Checked here: a NaN lock wait never times out, and the timeouts are inlined into SET statements.
    const lockWait = str("--lock-wait");
    if (lockWait !== undefined && !/^\d+(\.\d+)?$/.test(lockWait)) throw new UsageError(`--lock-wait needs a number of seconds, not '${lockWait}'`);
    if (baseline !== undefined && !/^\d+$/.test(baseline)) throw new UsageError(`--baseline needs a migration version (digits), not '${baseline}'`);
    for (const k of ["--lock-timeout", "--statement-timeout"]) {
        const v = str(k);
        if (v !== undefined && !isPgDuration(v)) throw new UsageError(`${k} needs a duration such as 5s, 250ms or 10min, not '${v}'`);
    }
    return {
        ...DEFAULT_ENGINE_SETTINGS,
        historySchema: str("--history-schema") ?? DEFAULT_ENGINE_SETTINGS.historySchema,
        lockTimeout: str("--lock-timeout") ?? DEFAULT_ENGINE_SETTINGS.lockTimeout,
        statementTimeout: str("--statement-timeout") ?? DEFAULT_ENGINE_SETTINGS.statementTimeout,
        lockWaitSeconds: str("--lock-wait") ? Number(str("--lock-wait")) : DEFAULT_ENGINE_SETTINGS.lockWaitSeconds,
        plan: {
            allowMissing: flags.has("--allow-missing"),
            outOfOrder: flags.has("--out-of-order"),
            baseline: baseline === undefined ? undefined : BigInt(baseline).toString(),
        },
        appliedBy: `local:${process.env.USER ?? os.userInfo().username}`,
    };
}

function databaseUrl(): string {
    const url = process.env.DATABASE_URL;
    if (!url) throw new UsageError("DATABASE_URL is not set: export DATABASE_URL=postgres://user:password@localhost:5432/app");
    return url;
}

/** The next version: the next integer when the directory uses small sequence numbers, else a UTC timestamp. */
export function nextVersion(existing: string[], now = new Date()): string {
    const versions = existing.map((f) => MIGRATION_FILE_PATTERN.exec(f)?.[1]).filter((v): v is string => !!v);
    const timestamp = now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
    if (versions.length && versions.every((v) => v.length < 9)) {
        const width = Math.max(...versions.map((v) => v.length));
        const next = versions.map((v) => BigInt(v)).reduce((a, b) => (a > b ? a : b)) + 1n;
        return next.toString().padStart(width, "0");
    }
    const newest = versions.map((v) => BigInt(v)).reduce((a, b) => (a > b ? a : b), 0n);
    return BigInt(timestamp) > newest ? timestamp : (newest + 1n).toString();
}

async function main(argv: string[]): Promise<number> {
    const args = parseArgs(argv);
    const dir = (args.flags.get("--dir") as string | undefined) ?? "migrations";
    const out = (line: string) => process.stdout.write(line + "\n");
    switch (args.command) {
        case "status": {
            const url = databaseUrl();
            const withFingerprint = args.flags.has("--fingerprint");
            const { plan, state } = await inspectSchema(url, scanMigrations(dir), settingsFrom(args.flags), { fingerprint: withFingerprint });
            const fingerprint = state.fingerprint ? `, fingerprint ${state.fingerprint.hash}` : "";
            out(`database ${describeTarget(url)}: schema version ${state.version ?? "(none)"}${fingerprint}`);
            for (const a of plan.applied) out(`  applied  ${a.version}_${a.name}  ${a.appliedAt ?? ""}${a.status === "baseline" ? "  (baseline)" : ""}`);
            for (const p of plan.baselined) out(`  baseline ${p.file}  (will be recorded, not run)`);
            // Only pending files are parsed: a syntax error there is worth knowing now; applied ones are checksummed.
            for (const p of await parseMigrations(plan.pending, dir)) {
                const warn = p.destructive.length ? `  destructive: ${p.destructive.map((d) => `line ${d.line} ${d.what}`).join("; ")}` : "";
                out(`  pending  ${p.file}${warn}`);
            }
            out(`${plan.applied.length} applied, ${plan.pending.length} pending`);
            assertRunnable(plan);
            return 0;
        }
        case "apply": {
            const url = databaseUrl();
            // No fingerprint: that is for drift reports (pulumi refresh, status --fingerprint), not for applying.
            const result = await applyMigrations(url, scanMigrations(dir), settingsFrom(args.flags), out, { fingerprint: false });
            out(`schema version ${result.version ?? "(none)"}: ${result.ran.length} applied now, ${result.applied.length} in total`);
            return 0;
        }
        case "new": {
            const name = args.positional.join("_").toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
            if (!name) throw new UsageError("schema:new needs a name: npm run schema:new -- add_orders_table");
            fs.mkdirSync(dir, { recursive: true });
            const file = path.join(dir, `${nextVersion(fs.readdirSync(dir))}_${name}.sql`);
            fs.writeFileSync(file, `-- ${name}\n-- Runs in one transaction with its history row. Directives go on their own line at the top, for example\n-- '-- keel:lock-timeout 10s'; known: keel:no-transaction, keel:lock-timeout, keel:statement-timeout, keel:allow-destructive.\n\n`, { flag: "wx" });
            out(file);
            return 0;
        }
        case "resolve": {
            const [version] = args.positional;
            const applied = args.flags.has("--applied");
            const rolledBack = args.flags.has("--rolled-back");
            if (!version || !/^\d+$/.test(version) || applied === rolledBack) {
                throw new UsageError("schema:resolve needs a version and one of --applied or --rolled-back: npm run schema:resolve -- 3 --applied");
            }
            const canonical = BigInt(version).toString();
            // Recording it as applied stores the file's checksum, so the files must load; undoing needs no file.
            const file = applied ? scanMigrations(dir).find((f) => f.version === canonical) : undefined;
            const row = await resolveMigration(databaseUrl(), settingsFrom(args.flags), canonical, applied ? "applied" : "rolled-back", file);
            out(applied ? `version ${canonical} (${row.name}) recorded as applied` : `version ${canonical} (${row.name}) removed from the history; it will run again`);
            return 0;
        }
        default:
            throw new UsageError(args.command ? `unknown command '${args.command}'` : "no command given");
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (err) => {
            if (err instanceof UsageError) process.stderr.write(`error: ${err.message}\n\n${USAGE}\n`);
            // Keel's errors carry the fix; for others the message is what matters (KEEL_DEBUG=1 shows the stack).
            else process.stderr.write(`error: ${process.env.KEEL_DEBUG && err?.stack ? err.stack : err?.message ?? err}\n`);
            process.exit(err instanceof UsageError ? 2 : 1);
        },
    );
}
