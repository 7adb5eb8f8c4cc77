import { afterEach, describe, expect, test } from '@jest/globals';
import type { Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { SERVER_LIMITS, createHttpServer } from '../../common/serve.js';

let server: Server;
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const SHORT = { ...SERVER_LIMITS, headersTimeoutMs: 400, requestTimeoutMs: 800, checkIntervalMs: 100 };

async function listen(limits = SHORT) {
  server = createHttpServer((_req, res) => void res.end('ok'), limits);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A client that sends `head` then one more byte every 50 ms, for at most `maxMs`: how long until the server hangs up, and what it said. */
function slowClient(port: number, head: string, maxMs = 5000): Promise<{ closedAfterMs: number | undefined; answer: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    let answer = '';
    socket.on('data', (chunk) => void (answer += chunk.toString()));
    const drip = setInterval(() => socket.writable && socket.write('x'), 50);
    const giveUp = setTimeout(() => finish(undefined), maxMs);
    const finish = (closedAfterMs: number | undefined) => {
      clearInterval(drip);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ closedAfterMs, answer });
    };
    socket.on('close', () => finish(Date.now() - started));
    socket.on('error', () => {});
  });
}

describe('HTTP server limits (all three services listen through createHttpServer)', () => {
  test('deliberate values, not Node defaults', () => {
    expect(SERVER_LIMITS).toEqual({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, checkIntervalMs: 1_000, maxRequestsPerSocket: 1000 });
    server = createHttpServer(() => {});
    expect([server.headersTimeout, server.requestTimeout, server.keepAliveTimeout, server.maxRequestsPerSocket]).toEqual([10_000, 30_000, 5_000, 1000]);
  });

  test('slow loris in the headers: the connection is closed once the head took too long (408)', async () => {
    const port = await listen();
    const { closedAfterMs, answer } = await slowClient(port, 'GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    expect(closedAfterMs).toBeDefined();
    expect(closedAfterMs!).toBeLessThan(SHORT.headersTimeoutMs + 3 * SHORT.checkIntervalMs + 200);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  test('slow loris in the body: the connection is closed once the whole request took too long', async () => {
    const port = await listen();
    const { closedAfterMs } = await slowClient(port, 'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n');
    expect(closedAfterMs).toBeDefined();
    expect(closedAfterMs!).toBeLessThan(SHORT.requestTimeoutMs + 3 * SHORT.checkIntervalMs + 200);
  });

  test('an ordinary request is answered', async () => {
    const port = await listen();
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');
  });
});
