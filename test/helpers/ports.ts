import { createServer } from "node:net";

/** A loopback port that was free a moment ago (for configs that need a fixed `server.listen`, or a closed port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
