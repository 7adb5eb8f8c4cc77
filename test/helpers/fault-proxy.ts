/**
 * A fault-injecting HTTP proxy in front of the IdP (whose issuer is the proxy's address). Only refresh requests
 * (POST grant_type=refresh_token) are faulted, each as the plan says; everything else passes through. Jest-free:
 * `npm run chaos` uses it too.
 */
import { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * `drop`: the IdP answers, the proxy cuts the connection instead of passing the answer on (rotated, answer lost).
 * `reset`: the connection is cut before anything reaches the IdP. `delay`: the IdP answers, the proxy holds the answer
 * for `delayMs` (past the app's timeout). `status502` / `status504`: the IdP answers, a load balancer's error goes back.
 */
export const FAULT_KINDS = ['drop', 'reset', 'delay', 'status502', 'status504'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One refresh request as the proxy sees it: its number (from 0), the token presented and the fault chosen for it. */
export interface RefreshCall {
  n: number;
  refreshToken: string;
  fault?: FaultKind;
}

/** Awaited at each stage of a refresh request: a test can act there (kill the IdP) before the proxy goes on. */
export interface ProxyHooks {
  /** The request was written to the IdP; its answer may not have come yet. */
  forwarded?(call: RefreshCall): Promise<void> | void;
  /** The IdP's whole answer is in the proxy, not yet passed on. */
  answered?(call: RefreshCall): Promise<void> | void;
}

export interface FaultCounts {
  requests: number;
  refreshes: number;
  faults: Record<FaultKind, number>;
  /** Requests the IdP could not be reached for (down, killed mid-request): answered 502 as a load balancer does, or cut for `drop`. */
  upstreamErrors: number;
}

export interface FaultProxy {
  url: string;
  /** The IdP's address, set once it listens (it needs the proxy's address as its issuer first). */
  target?: string;
  /** Chooses the fault for each refresh request; undefined passes it through. */
  plan: (call: RefreshCall) => FaultKind | undefined;
  hooks: ProxyHooks;
  readonly counts: FaultCounts;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'content-length'];

/** The faults in order, one per refresh request, then pass-through. */
export function faultQueue(...faults: FaultKind[]): FaultProxy['plan'] {
  return ({ n }) => faults[n];
}

/** Passes everything through until a test sets `plan` (and `hooks`); `delayMs`: how long `delay` holds an answer. */
export async function startFaultProxy({ delayMs = 3_000 } = {}): Promise<FaultProxy> {
  const counts: FaultCounts = { requests: 0, refreshes: 0, faults: Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>, upstreamErrors: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => void handle(req, res).catch(() => req.socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: FaultProxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    plan: () => undefined,
    hooks: {},
    counts,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    counts.requests += 1;
    const body = await readAll(req);
    const refreshToken = refreshTokenOf(req, body);
    const call: RefreshCall | undefined = refreshToken === undefined ? undefined : { n: counts.refreshes++, refreshToken };
    if (call) call.fault = proxy.plan(call);
    const fault = call?.fault;
    if (fault) counts.faults[fault] += 1;
    if (fault === 'reset') return req.socket.destroy();
    let answer: Answer;
    try {
      const { sent, answered } = forward(proxy.target!, req, body);
      answered.catch(() => {});
      await sent;
      if (call) await proxy.hooks.forwarded?.(call);
      answer = await answered;
      if (call) await proxy.hooks.answered?.(call);
    } catch {
      counts.upstreamErrors += 1;
      if (fault === 'drop') return req.socket.destroy();
      return void res.writeHead(502, { 'content-type': 'text/plain' }).end('Bad Gateway');
    }
    if (fault === 'drop') return req.socket.destroy();
    if (fault === 'status502' || fault === 'status504') return void res.writeHead(fault === 'status502' ? 502 : 504, { 'content-type': 'text/plain' }).end('Gateway error');
    if (fault === 'delay') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        // The caller has usually given up by now: writing to its closed socket is harmless.
        if (!res.destroyed) deliver(res, answer);
      }, delayMs);
      return void timers.add(timer);
    }
    deliver(res, answer);
  }

  return proxy;
}

/** The refresh token of a refresh request; undefined for any other request. */
function refreshTokenOf(req: IncomingMessage, body: Buffer): string | undefined {
  if (req.method !== 'POST') return undefined;
  const form = new URLSearchParams(body.toString('utf8'));
  return form.get('grant_type') === 'refresh_token' ? (form.get('refresh_token') ?? '') : undefined;
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** The request to the IdP on a fresh connection (a killed IdP leaves no pooled socket behind): when it was sent, and its whole answer. */
function forward(target: string, req: IncomingMessage, body: Buffer): { sent: Promise<void>; answered: Promise<Answer> } {
  let sent!: Promise<void>;
  const answered = new Promise<Answer>((resolve, reject) => {
    const upstream = request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers, agent: false }, (res) => {
      readAll(res).then((answer) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: answer }), reject);
    });
    sent = new Promise((resolveSent, rejectSent) => {
      upstream.on('error', (error) => {
        rejectSent(error);
        reject(error);
      });
      upstream.end(body, () => resolveSent());
    });
  });
  return { sent, answered };
}

function deliver(res: ServerResponse, { status, headers, body }: Answer) {
  const passed = Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.includes(name)));
  res.writeHead(status, { ...passed, 'content-length': body.length });
  res.end(body);
}
