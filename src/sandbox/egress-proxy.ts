import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';

/**
 * The only way out of a bwrap box: an HTTP proxy the worker serves on a Unix socket that is
 * mounted into the box (the box has no network interface but its own loopback). CONNECT tunnels
 * and plain requests go through only to hosts on the current allow-list; every other host is
 * refused and remembered, so the reviewer can be told what the repository tried to reach.
 */
export interface EgressProxy {
  readonly socketPath: string;
  /** Hosts reachable from now on (`example.org`, or `.example.org` for it and its subdomains). */
  allow(hosts: readonly string[]): void;
  /** Hosts refused so far, in the order first seen. */
  blocked(): string[];
  close(): Promise<void>;
}

export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return allowed.some((rule) => {
    const entry = rule.toLowerCase();
    return entry.startsWith('.') ? name === entry.slice(1) || name.endsWith(entry) : name === entry;
  });
}

// Only the web's ports: a tunnel to 22 or 6379 on an allowed host is not a package download.
const PORTS = new Set([80, 443]);

function splitHostPort(authority: string, defaultPort: number): { host: string; port: number } | null {
  const match = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(authority);
  if (!match?.[1]) return null;
  return { host: match[1], port: match[2] ? Number(match[2]) : defaultPort };
}

export async function startEgressProxy(socketPath: string, log?: { warn(obj: object, msg: string): void }): Promise<EgressProxy> {
  let allowed: readonly string[] = [];
  const refused = new Set<string>();
  const sockets = new Set<net.Socket>();
  const permitted = (host: string, port: number) => {
    if (PORTS.has(port) && hostAllowed(host, allowed) && !net.isIP(host)) return true;
    refused.add(port === 443 || port === 80 ? host : `${host}:${port}`);
    return false;
  };
  const server = http.createServer((req, res) => {
    // A plain-HTTP request through the proxy names its target in absolute form.
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('ai-fix egress: absolute URL required\n');
      return;
    }
    if (target.protocol !== 'http:' || !permitted(target.hostname, Number(target.port || 80))) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end(`ai-fix egress: ${target.hostname} is not on this task's network allow-list\n`);
      return;
    }
    const upstream = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const target = splitHostPort(req.url ?? '', 443);
    if (!target || !permitted(target.host, target.port)) {
      client.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\nai-fix egress: ${target?.host ?? 'that host'} is not on this task's network allow-list\n`);
      return;
    }
    const upstream = net.connect(target.port, target.host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', (err) => {
      log?.warn({ host: target.host, err: err.message }, 'egress: upstream connection failed');
      client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    });
  });
  await fs.rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  // The box's user connects to it (connect needs write permission on the socket).
  await fs.chmod(socketPath, 0o666);
  return {
    socketPath,
    allow(hosts) {
      allowed = [...hosts];
    },
    blocked: () => [...refused],
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fs.rm(socketPath, { force: true });
    },
  };
}
