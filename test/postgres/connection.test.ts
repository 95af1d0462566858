/**
 * openClient against servers that misbehave: one that accepts connections and never answers must
 * fail within the URL's connect_timeout (node-postgres alone would wait forever), naming the target
 * and the way to wait longer, never the password; a real server connects under the default.
 */
import { strict as assert } from "assert";
import * as fc from "fast-check";
import * as net from "net";
import { connectTimeoutSeconds, DEFAULT_CONNECT_TIMEOUT_SECONDS, openClient } from "../../components/postgres/connection";
import { DatabaseConnectionError } from "../../components/errors";
import { freshDatabase } from "../support/postgres";

/** A TCP server that accepts every connection and says nothing. */
async function silentServer(): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
    const sockets = new Set<net.Socket>();
    let accepted = 0;
    const server = net.createServer((socket) => {
        accepted++;
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        port: (server.address() as net.AddressInfo).port,
        accepted: () => accepted,
        close: () =>
            new Promise<void>((resolve) => {
                for (const s of sockets) s.destroy();
                server.close(() => resolve());
            }),
    };
}

describe("openClient", () => {
    it("connect_timeout: the URL's whole seconds (at least 2, as libpq), else the default", () => {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 100_000 }), (n) => {
                assert.equal(connectTimeoutSeconds(`postgres://u:p@h:5432/d?connect_timeout=${n}`), Math.max(2, n));
            }),
        );
        for (const given of ["", "0", "-3", "abc", "Infinity"]) {
            assert.equal(connectTimeoutSeconds(`postgres://u:p@h/d?connect_timeout=${given}`), DEFAULT_CONNECT_TIMEOUT_SECONDS, given);
        }
        assert.equal(connectTimeoutSeconds("postgres://u:p@h/d"), DEFAULT_CONNECT_TIMEOUT_SECONDS);
        assert.equal(connectTimeoutSeconds("postgres://u:p@h/d?sslmode=require&connect_timeout=7.9"), 7);
    });

    it("a server that accepts and never answers fails within connect_timeout, naming the target and the fix, not the password", async () => {
        const server = await silentServer();
        try {
            const url = `postgres://app:s3cret-pw@127.0.0.1:${server.port}/shop?connect_timeout=2`;
            const err = await openClient(url).then(
                () => assert.fail("connected to a server that never answered"),
                (e: unknown) => e,
            );
            assert.ok(err instanceof DatabaseConnectionError, String(err));
            assert.match(err.message, new RegExp(`Cannot connect to the database at 127\\.0\\.0\\.1:${server.port}/shop`));
            assert.match(err.message, /no answer within 2 s; add connect_timeout=<seconds> to the URL to wait longer/);
            assert.doesNotMatch(err.message, /s3cret-pw/);
            assert.equal(server.accepted(), 1, "the attempt reached the server, and was not retried");
        } finally {
            await server.close();
        }
    });

    it("a server that answers connects under the default limit", async () => {
        const client = await openClient(await freshDatabase("conn"));
        try {
            assert.deepEqual((await client.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
        } finally {
            await client.end();
        }
    });
});
