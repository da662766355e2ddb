// A second web server process on the e2e stack's PostgreSQL, NATS and fraud engine (a
// second replica), which a test can stop and start again on the same port. test.sh
// passes the binary and the stack's addresses in GG_E2E_*; without them (a test run
// against a development server) the tests that need a replica skip.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const env = process.env;

/** Whether this run can start replicas. */
export const canStartReplicas = Boolean(
  env.GG_E2E_SERVER_BIN && env.GG_E2E_DATABASE_URL && env.GG_E2E_NATS_URL && env.GG_E2E_FRAUD_URL,
);

/** A loopback port nothing listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts connections on the port. */
function listening(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Whether the port can be bound right now. */
function bindable(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export class Replica {
  constructor(port, logFile) {
    this.port = port;
    this.logFile = logFile;
    this.child = null;
  }

  /** Its origin, also its public URL. */
  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts a replica on a free port. */
  static async start(logDir) {
    fs.mkdirSync(logDir, { recursive: true });
    const replica = new Replica(await freePort(), path.join(logDir, 'replica.log'));
    await replica.run();
    return replica;
  }

  /** Starts the process on this replica's port and waits until it serves. */
  async run() {
    if (!(await bindable(this.port))) {
      throw new Error(`port ${this.port} is taken by another process; not restarting on it`);
    }
    const log = fs.openSync(this.logFile, 'a');
    this.child = spawn(env.GG_E2E_SERVER_BIN, [], {
      env: {
        ...env,
        DATABASE_URL: env.GG_E2E_DATABASE_URL,
        NATS_URL: env.GG_E2E_NATS_URL,
        FRAUD_GRPC_URL: env.GG_E2E_FRAUD_URL,
        LEPTOS_SITE_ROOT: env.GG_E2E_SITE_ROOT ?? 'target/site',
        LEPTOS_SITE_PKG_DIR: 'pkg',
        LEPTOS_HASH_FILES: env.GG_E2E_HASH_FILES ?? 'true',
        LEPTOS_SITE_ADDR: `127.0.0.1:${this.port}`,
        LEPTOS_ENV: 'PROD',
        GUESTGUARD_PUBLIC_URL: this.url,
        GUESTGUARD_SHUTDOWN_GRACE_SECS: '2',
      },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    for (let i = 0; i < 600; i += 1) {
      if (this.child.exitCode !== null) throw new Error(`the replica exited; see ${this.logFile}`);
      if (await listening(this.port)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the replica did not listen on ${this.port}; see ${this.logFile}`);
  }

  /** Stops the process (SIGTERM, as an orchestrator would) and waits for it to exit. */
  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    this.child = null;
  }
}
