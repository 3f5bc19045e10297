import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";

/**
 * Private broker instances for tests and chaos runs: each on free loopback ports, in a temporary
 * folder, stopped (and the folder removed) by `stop`. `restart` kills the broker (SIGKILL) and
 * starts it again on the same port with the same data, as a crash and a restart would.
 */

export type BrokerKind = "nats" | "amqp" | "redis-stream";

export interface Broker {
  kind: BrokerKind;
  url: string;
  port: number;
  dir: string;
  /** SIGKILL the broker; `start` brings it back on the same port and data. */
  kill(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const BINARIES: Record<BrokerKind, { binary: string; debian: string }> = {
  nats: { binary: "nats-server", debian: "nats-server" },
  amqp: { binary: "rabbitmq-server", debian: "rabbitmq-server" },
  "redis-stream": { binary: "redis-server", debian: "redis-server" },
};

function onPath(binary: string): boolean {
  const paths = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/lib/rabbitmq/bin"];
  return paths.some((dir) => spawnSync("test", ["-x", join(dir, binary)]).status === 0);
}

/**
 * Whether a broker's binary is installed. Without it the suite is skipped with one line naming the
 * Debian package; under CI=true a missing broker is an error (a skipped suite would hide it).
 */
export function brokerInstalled(kind: BrokerKind): boolean {
  const { binary, debian } = BINARIES[kind];
  if (onPath(binary)) return true;
  const line = `${kind} tests skipped: ${binary} not found; install the Debian package ${debian}`;
  if (process.env.CI === "true") throw new Error(`${line} (CI=true: a skipped broker suite is a failure)`);
  console.warn(line);
  return false;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, child?: () => ChildProcess | undefined, log?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    const proc = child?.();
    if (proc && proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}: ${log?.().slice(-2000) ?? ""}`);
    if (Date.now() > deadline) throw new Error(`${what} did not start within ${timeoutMs} ms: ${log?.().slice(-2000) ?? ""}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Signals the child's whole process group (brokers are started detached: RabbitMQ's script runs the VM as a child). */
async function killChild(child: ChildProcess | undefined, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
  await exited;
  if (signal !== "SIGKILL") {
    // Whatever of the group outlived the leader.
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // The group is gone.
    }
  }
}

function managed(kind: BrokerKind, url: string, port: number, dir: string, launch: () => ChildProcess, ready: () => Promise<boolean>, startMs: number, cleanup: () => Promise<void> = async () => undefined): Broker {
  let child: ChildProcess | undefined;
  let output = "";
  const broker: Broker = {
    kind,
    url,
    port,
    dir,
    async start() {
      output = "";
      child = launch();
      child.stdout?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
      child.stderr?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
      await waitFor(kind, ready, startMs, () => child, () => output);
    },
    async kill() {
      await killChild(child);
      child = undefined;
      // The group leader's exit can come before the VM's sockets are gone: a `start` that found
      // the old listener still open would return before the new broker listens.
      await waitFor(`${kind} to stop listening`, async () => !(await portOpen(port)), 10_000);
    },
    async restart() {
      await broker.kill();
      await broker.start();
    },
    async stop() {
      await killChild(child, "SIGTERM");
      child = undefined;
      await cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return broker;
}

/** A CA and a server certificate it signed for 127.0.0.1 / localhost (openssl, in a temp folder). */
export interface TestCertificates {
  dir: string;
  /** The CA's certificate (PEM file), what a client trusts. */
  caFile: string;
  caPem: string;
  certFile: string;
  keyFile: string;
}

export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "retrohook-certs-"));
  const file = (name: string): string => join(dir, name);
  const openssl = (args: string[]): void => {
    const result = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${result.stderr}`);
  };
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=retrohook test CA", "-keyout", file("ca.key"), "-out", file("ca.pem")]);
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", file("server.key"), "-out", file("server.csr")]);
  writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n");
  openssl(["x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", file("san.ext"), "-out", file("server.pem")]);
  return { dir, caFile: file("ca.pem"), caPem: readFileSync(file("ca.pem"), "utf8"), certFile: file("server.pem"), keyFile: file("server.key") };
}

/** nats-server with JetStream (`-js -sd`), and a stream `RETROHOOK` on `retrohook.>` made by the caller when wanted. */
export async function startNats(auth?: { user: string; pass: string }, tls?: TestCertificates): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), "retrohook-nats-"));
  const port = await freePort();
  const broker = managed(
    "nats",
    `${tls ? "tls" : "nats"}://${auth ? `${auth.user}:${auth.pass}@` : ""}127.0.0.1:${port}`,
    port,
    dir,
    () =>
      spawn(
        "nats-server",
        ["-js", "-sd", dir, "-a", "127.0.0.1", "-p", String(port), ...(auth ? ["--user", auth.user, "--pass", auth.pass] : []), ...(tls ? ["--tls", "--tlscert", tls.certFile, "--tlskey", tls.keyFile] : [])],
        { stdio: ["ignore", "pipe", "pipe"], detached: true },
      ),
    () => portOpen(port),
    20_000,
  );
  await broker.start();
  return broker;
}

/** redis-server; with `tls`, TLS only (`rediss://`), clients not asked for certificates. */
export async function startRedis(password?: string, tls?: TestCertificates): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), "retrohook-redis-"));
  const port = await freePort();
  const args = [...(tls ? ["--port", "0", "--tls-port", String(port), "--tls-cert-file", tls.certFile, "--tls-key-file", tls.keyFile, "--tls-ca-cert-file", tls.caFile, "--tls-auth-clients", "no"] : ["--port", String(port)]), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always"];
  if (password) args.push("--requirepass", password);
  const broker = managed(
    "redis-stream",
    `${tls ? "rediss" : "redis"}://${password ? `:${password}@` : ""}127.0.0.1:${port}/0`,
    port,
    dir,
    () => spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"], detached: true }),
    () => portOpen(port),
    20_000,
  );
  await broker.start();
  return broker;
}

/**
 * A private RabbitMQ node (its own epmd port, node name, data and log folders). RabbitMQ takes
 * tens of seconds to boot: start one per test file. User `retrohook`/`secret-pass` on vhost `/`.
 */
export async function startRabbit(tls?: TestCertificates): Promise<Broker & { tlsUrl?: string }> {
  const dir = mkdtempSync(join(tmpdir(), "retrohook-rabbit-"));
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  const tlsPort = tls ? await freePort() : undefined;
  writeFileSync(join(dir, "enabled_plugins"), "[].\n");
  writeFileSync(
    join(dir, "rabbitmq.conf"),
    [
      "loopback_users = none",
      "default_user = retrohook",
      "default_pass = secret-pass",
      `listeners.tcp.default = 127.0.0.1:${port}`,
      ...(tls ? [`listeners.ssl.default = 127.0.0.1:${tlsPort}`, `ssl_options.cacertfile = ${tls.caFile}`, `ssl_options.certfile = ${tls.certFile}`, `ssl_options.keyfile = ${tls.keyFile}`, "ssl_options.verify = verify_none", "ssl_options.fail_if_no_peer_cert = false"] : []),
      "log.console = true",
      "log.file = false",
    ].join("\n") + "\n",
  );
  writeFileSync(join(dir, ".erlang.cookie"), `RETROHOOKTEST${port}`, { mode: 0o400 });
  const env = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: `retrohook${port}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: "127.0.0.1",
    RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: join(dir, "log"),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, "enabled_plugins"),
    RABBITMQ_CONFIG_FILE: join(dir, "rabbitmq"),
    RABBITMQ_PID_FILE: join(dir, "pid"),
  };
  // epmd as our own child, so it is stopped with the broker and never left behind.
  const epmd = spawn("epmd", ["-port", String(epmdPort), "-address", "127.0.0.1"], { stdio: "ignore", env, detached: true });
  await waitFor("epmd", () => portOpen(epmdPort), 10_000, () => epmd);
  const broker = managed(
    "amqp",
    `amqp://retrohook:secret-pass@127.0.0.1:${port}/`,
    port,
    dir,
    () => spawn("/usr/lib/rabbitmq/bin/rabbitmq-server", [], { stdio: ["ignore", "pipe", "pipe"], env, cwd: dir, detached: true }),
    () => portOpen(port),
    120_000,
    () => killChild(epmd, "SIGTERM"),
  );
  await broker.start();
  return tls ? { ...broker, tlsUrl: `amqps://retrohook:secret-pass@127.0.0.1:${tlsPort}/` } : broker;
}

export const STARTERS: Record<BrokerKind, () => Promise<Broker>> = {
  nats: startNats,
  amqp: startRabbit,
  "redis-stream": () => startRedis(),
};

/** `url` with its port replaced by a closed one (credentials kept). */
export async function closedPortUrl(url: string): Promise<string> {
  const parsed = new URL(url);
  parsed.port = String(await freePort());
  return parsed.toString();
}
