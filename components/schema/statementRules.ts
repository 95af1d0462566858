/**
 * What Keel knows about PostgreSQL statements, read from their parse trees:
 * which PostgreSQL refuses inside a transaction block, which destroy data,
 * which old code may not survive, and which tables, views or columns they
 * bring into being. Pure: no database, no Pulumi.
 */

/** Every string constant in a parse tree (A_Const with a string value), for uses of an enum value. */
export function stringConstants(node: unknown, out: string[] = []): string[] {
    if (Array.isArray(node)) {
        for (const n of node) stringConstants(n, out);
    } else if (node && typeof node === "object") {
        const konst = (node as any).A_Const;
        if (konst && typeof konst.sval?.sval === "string") out.push(konst.sval.sval);
        for (const v of Object.values(node)) if (v && typeof v === "object") stringConstants(v, out);
    }
    return out;
}

function qualified(rel: { schemaname?: string; relname?: string } | undefined): string {
    if (!rel) return "?";
    return rel.schemaname ? `${rel.schemaname}.${rel.relname}` : `${rel.relname}`;
}

export function nameList(obj: any): string {
    if (obj?.List) return obj.List.items.map((i: any) => i.String?.sval).join(".");
    if (obj?.String) return obj.String.sval;
    return "?";
}

/**
 * The value of a boolean option (DefElem) as PostgreSQL's defGetBoolean reads
 * it: no value is true; true/false/on/off and 1/0. Undefined when absent (or
 * not a boolean, which the server refuses anyway).
 */
function booleanOption(options: any[] | undefined, name: string): boolean | undefined {
    const d = (options ?? []).map((o: any) => o?.DefElem).find((e: any) => e?.defname === name);
    if (!d) return undefined;
    const arg = d.arg;
    if (!arg) return true;
    if (arg.Integer) return (arg.Integer.ival ?? 0) !== 0;
    if (arg.Boolean) return arg.Boolean.boolval === true;
    // `on`/`off` arrive as a type name, `true`/`false` as a string.
    const word = (arg.String?.sval ?? arg.TypeName?.names?.map((n: any) => n.String?.sval).join(".") ?? "").toLowerCase();
    return word === "true" || word === "on" ? true : word === "false" || word === "off" ? false : undefined;
}

export interface NoTransactionStatement {
    /** The statement as PostgreSQL's error names it ("… cannot run inside a transaction block"). */
    statement: string;
    /** The parser's node name. */
    kind: string;
    /** Which statements of that kind; all of them when absent. */
    when?: (node: any) => boolean;
    /**
     * Only the database's state tells (whether a table is partitioned, whether a
     * subscription has a replication slot): Keel cannot see it in the file and does
     * not refuse the statement; PostgreSQL does, and the file's transaction rolls back.
     */
    dependsOnDatabase?: true;
    /** A statement PostgreSQL 15 refuses inside BEGIN … COMMIT (test/schema/noTransaction.test.ts runs every one). */
    example: string;
}

/**
 * The statements PostgreSQL 15 refuses inside a transaction block (its
 * PreventInTransactionBlock calls), one row per kind, each with an example the
 * tests run inside BEGIN … COMMIT on a real server. A transactional file
 * holding one of the others is refused at load time: it needs
 * '-- keel:no-transaction'. Not here, because PostgreSQL allows them in a
 * transaction: ANALYZE (a VacuumStmt too, with is_vacuumcmd false), CLUSTER of
 * one plain table, REINDEX of a plain table or index, REFRESH MATERIALIZED VIEW
 * CONCURRENTLY, CREATE SUBSCRIPTION … WITH (connect = false), and ALTER TYPE …
 * ADD VALUE (since PostgreSQL 12; the new value is usable only after COMMIT:
 * see enumValueUses).
 */
export const NO_TRANSACTION_STATEMENTS: readonly NoTransactionStatement[] = [
    {
        statement: "CREATE INDEX CONCURRENTLY",
        kind: "IndexStmt",
        when: (n) => n.concurrent === true,
        example: "CREATE INDEX CONCURRENTLY items_sku ON items (sku)",
    },
    {
        statement: "DROP INDEX CONCURRENTLY",
        kind: "DropStmt",
        when: (n) => n.concurrent === true,
        example: "DROP INDEX CONCURRENTLY items_id",
    },
    {
        statement: "REINDEX CONCURRENTLY",
        kind: "ReindexStmt",
        when: (n) => n.concurrent === true || booleanOption(n.params, "concurrently") === true,
        example: "REINDEX TABLE CONCURRENTLY items",
    },
    { statement: "REINDEX SCHEMA", kind: "ReindexStmt", when: (n) => n.kind === "REINDEX_OBJECT_SCHEMA", example: "REINDEX SCHEMA public" },
    { statement: "REINDEX SYSTEM", kind: "ReindexStmt", when: (n) => n.kind === "REINDEX_OBJECT_SYSTEM", example: "REINDEX SYSTEM keel" },
    {
        statement: "REINDEX DATABASE",
        kind: "ReindexStmt",
        when: (n) => n.kind === "REINDEX_OBJECT_DATABASE",
        example: "REINDEX DATABASE keel",
    },
    {
        statement: "REINDEX of a partitioned table or index",
        kind: "ReindexStmt",
        dependsOnDatabase: true,
        example: "REINDEX TABLE measurements",
    },
    { statement: "VACUUM", kind: "VacuumStmt", when: (n) => n.is_vacuumcmd === true, example: "VACUUM (ANALYZE) items" },
    { statement: "CLUSTER without a table", kind: "ClusterStmt", when: (n) => !n.relation, example: "CLUSTER" },
    {
        statement: "CLUSTER of a partitioned table",
        kind: "ClusterStmt",
        dependsOnDatabase: true,
        example: "CLUSTER measurements USING measurements_at",
    },
    { statement: "CREATE DATABASE", kind: "CreatedbStmt", example: "CREATE DATABASE keel_example" },
    { statement: "DROP DATABASE", kind: "DropdbStmt", example: "DROP DATABASE IF EXISTS keel_example" },
    {
        statement: "ALTER DATABASE SET TABLESPACE",
        kind: "AlterDatabaseStmt",
        when: (n) => (n.options ?? []).some((o: any) => o?.DefElem?.defname === "tablespace"),
        example: "ALTER DATABASE keel_example SET TABLESPACE pg_default",
    },
    { statement: "CREATE TABLESPACE", kind: "CreateTableSpaceStmt", example: "CREATE TABLESPACE keel_example LOCATION '/nonexistent'" },
    { statement: "DROP TABLESPACE", kind: "DropTableSpaceStmt", example: "DROP TABLESPACE IF EXISTS keel_example" },
    { statement: "ALTER SYSTEM", kind: "AlterSystemStmt", example: "ALTER SYSTEM SET work_mem = '8MB'" },
    {
        // create_slot defaults to true, and to false with connect = false.
        statement: "CREATE SUBSCRIPTION … WITH (create_slot = true)",
        kind: "CreateSubscriptionStmt",
        when: (n) => booleanOption(n.options, "create_slot") ?? booleanOption(n.options, "connect") ?? true,
        example: "CREATE SUBSCRIPTION keel_example CONNECTION 'dbname=keel_nowhere' PUBLICATION keel_pub",
    },
    {
        statement: "ALTER SUBSCRIPTION … REFRESH PUBLICATION",
        kind: "AlterSubscriptionStmt",
        when: (n) => n.kind === "ALTER_SUBSCRIPTION_REFRESH",
        example: "ALTER SUBSCRIPTION keel_sub REFRESH PUBLICATION",
    },
    {
        // refresh defaults to true.
        statement: "ALTER SUBSCRIPTION … SET/ADD/DROP PUBLICATION with refresh",
        kind: "AlterSubscriptionStmt",
        when: (n) =>
            ["ALTER_SUBSCRIPTION_SET_PUBLICATION", "ALTER_SUBSCRIPTION_ADD_PUBLICATION", "ALTER_SUBSCRIPTION_DROP_PUBLICATION"].includes(
                n.kind,
            ) && booleanOption(n.options, "refresh") !== false,
        example: "ALTER SUBSCRIPTION keel_sub ADD PUBLICATION keel_pub2",
    },
    {
        statement: "DROP SUBSCRIPTION of a subscription with a replication slot",
        kind: "DropSubscriptionStmt",
        dependsOnDatabase: true,
        example: "DROP SUBSCRIPTION keel_slotted",
    },
    { statement: "DISCARD ALL", kind: "DiscardStmt", when: (n) => n.target === "DISCARD_ALL", example: "DISCARD ALL" },
    {
        statement: "COMMIT PREPARED",
        kind: "TransactionStmt",
        when: (n) => n.kind === "TRANS_STMT_COMMIT_PREPARED",
        example: "COMMIT PREPARED 'keel_example'",
    },
    {
        statement: "ROLLBACK PREPARED",
        kind: "TransactionStmt",
        when: (n) => n.kind === "TRANS_STMT_ROLLBACK_PREPARED",
        example: "ROLLBACK PREPARED 'keel_example'",
    },
    {
        statement: "ALTER TABLE … DETACH PARTITION … CONCURRENTLY",
        kind: "AlterTableStmt",
        when: (n) =>
            (n.cmds ?? []).some(
                (c: any) => c?.AlterTableCmd?.subtype === "AT_DetachPartition" && c.AlterTableCmd.def?.PartitionCmd?.concurrent === true,
            ),
        example: "ALTER TABLE measurements DETACH PARTITION measurements_2024 CONCURRENTLY",
    },
];

/** The row of NO_TRANSACTION_STATEMENTS a statement falls under, when Keel can tell from the statement alone. */
export function noTransactionRule(kind: string, node: any): NoTransactionStatement | undefined {
    return NO_TRANSACTION_STATEMENTS.find((r) => r.kind === kind && !r.dependsOnDatabase && (!r.when || r.when(node ?? {})));
}

/** True when PostgreSQL refuses the statement inside a transaction block, whatever the database holds. */
export function refusedInTransaction(kind: string, node: any): boolean {
    return noTransactionRule(kind, node) !== undefined;
}

/**
 * What a statement changes that code written before it may not survive, as a
 * rollback that keeps the newer schema needs to know: tables and columns dropped
 * or renamed (the old code still names them), column types changed, and columns
 * made NOT NULL without a default (the old code's inserts leave them out).
 * Additive changes (new tables, nullable or defaulted columns, indexes) are not.
 */
export function oldCodeBreaks(kind: string, node: any): { what: string; object: string }[] {
    switch (kind) {
        case "DropStmt":
            return node.removeType === "OBJECT_TABLE" || node.removeType === "OBJECT_VIEW"
                ? (node.objects ?? []).map((o: any) => ({
                      what: `DROP ${node.removeType === "OBJECT_TABLE" ? "TABLE" : "VIEW"} ${nameList(o)}`,
                      object: objectKey(nameList(o)),
                  }))
                : [];
        case "RenameStmt": {
            const table = qualified(node.relation);
            if (node.renameType === "OBJECT_TABLE")
                return [{ what: `ALTER TABLE ${table} RENAME TO ${node.newname}`, object: objectKey(table) }];
            if (node.renameType === "OBJECT_COLUMN") {
                return [
                    {
                        what: `ALTER TABLE ${table} RENAME COLUMN ${node.subname} TO ${node.newname}`,
                        object: objectKey(table, node.subname),
                    },
                ];
            }
            return [];
        }
        case "AlterTableStmt": {
            // Dropped columns and changed types, as destructiveParts names them; then what only old code minds.
            const table = qualified(node.relation);
            const out: { what: string; object: string }[] = [];
            for (const c of node.cmds ?? []) {
                const cmd = c.AlterTableCmd;
                if (cmd?.subtype === "AT_DropColumn")
                    out.push({ what: `ALTER TABLE ${table} DROP COLUMN ${cmd.name}`, object: objectKey(table, cmd.name) });
                if (cmd?.subtype === "AT_AlterColumnType")
                    out.push({ what: `ALTER TABLE ${table} ALTER COLUMN ${cmd.name} TYPE`, object: objectKey(table, cmd.name) });
                if (cmd?.subtype === "AT_SetNotNull")
                    out.push({ what: `ALTER TABLE ${table} ALTER COLUMN ${cmd.name} SET NOT NULL`, object: objectKey(table, cmd.name) });
                const column = cmd?.subtype === "AT_AddColumn" ? cmd.def?.ColumnDef : undefined;
                if (column) {
                    const types = (column.constraints ?? []).map((k: any) => k.Constraint?.contype);
                    const filled = types.some((t: string) => ["CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED"].includes(t));
                    if (types.includes("CONSTR_NOTNULL") && !filled) {
                        // Old code's inserts into the table leave the new column out: it is about the table.
                        out.push({
                            what: `ALTER TABLE ${table} ADD COLUMN ${column.colname} NOT NULL without a default`,
                            object: objectKey(table),
                        });
                    }
                }
            }
            return out;
        }
        default:
            return [];
    }
}

/** A table (`t`, `s.t`) or column (`t.c`) as oldCodeBreaks and introducedObjects name it: `public.` left out. */
export function objectKey(table: string, column?: string): string {
    const t = table.startsWith("public.") ? table.slice("public.".length) : table;
    return column === undefined ? t : `${t}.${column}`;
}

/**
 * The tables, views and columns a statement brings into being: CREATE TABLE
 * (… AS), CREATE VIEW, ADD COLUMN, and the new names of RENAME. A rollback
 * keeping the schema reads them to leave out changes to objects the target's
 * code never knew (added after it).
 */
export function introducedObjects(kind: string, node: any): string[] {
    switch (kind) {
        case "CreateStmt":
            return node.relation ? [objectKey(qualified(node.relation))] : [];
        case "CreateTableAsStmt":
            return node.into?.rel ? [objectKey(qualified(node.into.rel))] : [];
        case "ViewStmt":
            return node.view ? [objectKey(qualified(node.view))] : [];
        case "RenameStmt": {
            const schema = node.relation?.schemaname ? `${node.relation.schemaname}.` : "";
            if (node.renameType === "OBJECT_TABLE") return [objectKey(`${schema}${node.newname}`)];
            if (node.renameType === "OBJECT_COLUMN") return [objectKey(qualified(node.relation), node.newname)];
            return [];
        }
        case "AlterTableStmt": {
            const table = qualified(node.relation);
            return (node.cmds ?? []).flatMap((c: any) =>
                c.AlterTableCmd?.subtype === "AT_AddColumn" && c.AlterTableCmd.def?.ColumnDef?.colname
                    ? [objectKey(table, c.AlterTableCmd.def.ColumnDef.colname)]
                    : [],
            );
        }
        default:
            return [];
    }
}

/** What a statement destroys, if anything: dropped tables, columns or schemas, lost rows, rewritten types. */
export function destructiveParts(kind: string, node: any): string[] {
    switch (kind) {
        case "DropStmt": {
            const type = node.removeType === "OBJECT_TABLE" ? "TABLE" : node.removeType === "OBJECT_SCHEMA" ? "SCHEMA" : undefined;
            if (!type) return [];
            return (node.objects ?? []).map((o: any) => `DROP ${type} ${nameList(o)}`);
        }
        case "DropdbStmt":
            return [`DROP DATABASE ${node.dbname}`];
        case "TruncateStmt":
            return [`TRUNCATE ${(node.relations ?? []).map((r: any) => qualified(r.RangeVar)).join(", ")}`];
        case "AlterTableStmt": {
            const table = qualified(node.relation);
            const out: string[] = [];
            for (const c of node.cmds ?? []) {
                const cmd = c.AlterTableCmd;
                if (cmd?.subtype === "AT_DropColumn") out.push(`ALTER TABLE ${table} DROP COLUMN ${cmd.name}`);
                if (cmd?.subtype === "AT_AlterColumnType") out.push(`ALTER TABLE ${table} ALTER COLUMN ${cmd.name} TYPE`);
            }
            return out;
        }
        case "DeleteStmt":
            return node.whereClause ? [] : [`DELETE FROM ${qualified(node.relation)} without WHERE`];
        case "UpdateStmt":
            return node.whereClause ? [] : [`UPDATE ${qualified(node.relation)} without WHERE`];
        default:
            return [];
    }
}
