/** The generated migrations: the same tables and indexes in each tool's format, and the psql floor's one file. */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

const pad = (i: number, width: number) => String(i).padStart(width, "0");

function migrationBody(table: string): string {
    return (
        `CREATE TABLE ${table} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n` +
        `CREATE INDEX ${table}_name_idx ON ${table} (name);\n`
    );
}

export interface Generated {
    keel: string;
    nodePgMigrate: string;
    dbmate: string;
    psqlFile: string;
}

/**
 * Writes the same `count` migrations in each tool's format under `root`;
 * `historyDdl` (Keel's own CREATE TABLE for its history) opens the psql floor file.
 */
export function generate(root: string, count: number, withOthers: boolean, historyDdl = ""): Generated {
    const width = Math.max(4, String(count).length);
    const g: Generated = {
        keel: path.join(root, "keel"),
        nodePgMigrate: path.join(root, "node-pg-migrate"),
        dbmate: path.join(root, "dbmate"),
        psqlFile: path.join(root, "floor.sql"),
    };
    fs.mkdirSync(g.keel, { recursive: true });
    if (withOthers) {
        fs.mkdirSync(g.nodePgMigrate);
        fs.mkdirSync(g.dbmate);
    }
    const floor: string[] = [`${historyDdl.trim()};\n`];
    for (let i = 1; i <= count; i++) {
        const v = pad(i, width);
        const table = `t_${v}`;
        const name = `create_${table}`;
        const body = migrationBody(table);
        const keelText = `-- ${name}\n${body}`;
        fs.writeFileSync(path.join(g.keel, `${v}_${name}.sql`), keelText);
        if (!withOthers) continue;
        // node-pg-migrate orders by a 13-digit (epoch ms) or 17-digit prefix; anything else logs an error per file.
        fs.writeFileSync(
            path.join(g.nodePgMigrate, `${1700000000000 + i}_${name}.sql`),
            `-- Up Migration\n${body}\n-- Down Migration\nDROP TABLE ${table};\n`,
        );
        fs.writeFileSync(path.join(g.dbmate, `${v}_${name}.sql`), `-- migrate:up\n${body}\n-- migrate:down\nDROP TABLE ${table};\n`);
        const checksum = createHash("sha256").update(keelText).digest("hex");
        floor.push(
            `BEGIN;\n${body}INSERT INTO public.keel_schema_history (version, name, checksum, status, execution_ms, applied_by) ` +
                `VALUES (${i}, '${name}', '${checksum}', 'applied', 0, 'psql');\nCOMMIT;\n`,
        );
    }
    if (withOthers) fs.writeFileSync(g.psqlFile, floor.join(""));
    return g;
}
