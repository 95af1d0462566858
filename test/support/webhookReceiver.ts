/**
 * A local Slack incoming webhook: takes `{text}` posts on 127.0.0.1 and keeps
 * them; answers the status the test sets (200 by default, or a queue of them).
 */
import * as http from "http";
import type { AddressInfo } from "net";

export class WebhookReceiver {
    readonly posts: string[] = [];
    /** The next answers, in order; once used up, 200. */
    statuses: number[] = [];
    private constructor(private readonly server: http.Server) {}

    static async start(): Promise<WebhookReceiver> {
        const holder: { receiver?: WebhookReceiver } = {};
        const server = http.createServer((req, res) => {
            const receiver = holder.receiver!;
            let body = "";
            req.on("data", (c) => (body += c));
            req.on("end", () => {
                const status = receiver.statuses.shift() ?? 200;
                if (status === 200) receiver.posts.push(JSON.parse(body).text);
                res.writeHead(status, { "Content-Type": "text/plain" }).end(status === 200 ? "ok" : "invalid_payload");
            });
        });
        const receiver = new WebhookReceiver(server);
        holder.receiver = receiver;
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        return receiver;
    }

    /** The webhook's URL, with a secret-looking path as Slack's have. */
    get url(): string {
        return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/services/T000/B000/s3cr3tW3bh00kPath`;
    }

    stop(): Promise<void> {
        this.server.closeAllConnections();
        return new Promise((resolve) => this.server.close(() => resolve()));
    }
}
