import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface DemoReceiver {
  url: string;
  received: number;
  close(): Promise<void>;
}

/** The demo's webhook receiver: verifies each signature with `standardwebhooks` and prints a line. */
export async function startDemoReceiver(secret: string, print: (line: string) => void): Promise<DemoReceiver> {
  const webhook = new Webhook(secret);
  const state = { received: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]));
      try {
        const event = webhook.verify(body, headers) as { type: string; record_id: string | null; data: { object: Record<string, unknown>; previous?: Record<string, unknown> } };
        state.received += 1;
        print(describe(event));
        res.writeHead(204).end();
      } catch (error) {
        print(`  ✗ rejected a request: ${error instanceof Error ? error.message : String(error)}`);
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    get received() {
      return state.received;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function describe(event: { type: string; record_id: string | null; data: { object: Record<string, unknown>; previous?: Record<string, unknown> } }): string {
  const object = event.data.object;
  const label = [object.number, object.buyer_name ?? object.seller_name, object.price_gross ?? object.price].filter((v) => v !== undefined && v !== null && v !== "").join("  ");
  const changed = event.data.previous ? `  changed: ${Object.keys(event.data.previous).filter((k) => k !== "updated_at").join(", ")}` : "";
  const time = new Date().toISOString().slice(11, 19);
  return `  ✓ ${time}  ${event.type.padEnd(28)} #${String(event.record_id).padEnd(4)} ${label}${changed}  (signature verified)`;
}
