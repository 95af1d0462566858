/** A backend's public health URL for end-to-end tests and benchmarks: 200 when healthy, 503 otherwise. */
import * as http from "http";
import type { AddressInfo } from "net";

export class HealthServer {
    healthy = true;
    hits = 0;
    private constructor(
        private readonly server: http.Server,
        readonly url: string,
    ) {}

    static async start(): Promise<HealthServer> {
        const server = http.createServer();
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const self = new HealthServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`);
        server.on("request", (_req: http.IncomingMessage, res: http.ServerResponse) => {
            self.hits++;
            if (self.healthy) res.writeHead(200).end("ok");
            else res.writeHead(503).end("down for maintenance");
        });
        return self;
    }

    stop(): Promise<void> {
        this.server.closeAllConnections();
        return new Promise((resolve) => this.server.close(() => resolve()));
    }
}
