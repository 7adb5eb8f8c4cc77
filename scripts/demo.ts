/**
 * `npm run demo`: IdP, app and API side by side. The banner comes once all three listen; Ctrl-C stops them all.
 * A service that stops on its own (bad configuration, port in use, crash) stops the demo with a non-zero status.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readApiConfig } from '../api/config.js';
import { readAppConfig } from '../app/config.js';
import { READY } from '../common/serve.js';
import { readIdpConfig } from '../idp/config.js';

const services = [
  { name: 'idp', entry: 'idp/server.ts' },
  { name: 'app', entry: 'app/demo/server.ts' },
  { name: 'api', entry: 'api/server.ts' },
];

/** The URLs as configured, not assumed: each service has already read the same environment without complaint. */
function banner(): string {
  const { issuer } = readIdpConfig();
  const { baseUrl, apiUrl } = readAppConfig();
  const { port: apiPort } = readApiConfig();
  return `
  OpenID Provider  ${issuer}
  BFF app          ${baseUrl.origin}   (open ${new URL('/about', baseUrl).href})
  API              ${apiUrl.origin}   (listening on port ${apiPort}; GET /api/profile with a bearer token)
  Sign in as       bob / secret
  Ctrl-C stops all three.
`;
}

let stopping = false;
let status = 0;
const ready = new Set<string>();

const children: ChildProcess[] = services.map(({ name, entry }) => {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: process.env });
  child.on('message', (message: { type?: string }) => {
    if (message.type !== READY) return;
    ready.add(name);
    if (ready.size === services.length) console.log(banner());
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`demo: ${name} stopped (${signal ?? `exit code ${code}`}); stopping the others`);
      stop(code || 1);
    }
    if (children.every((other) => other.exitCode !== null || other.signalCode !== null)) process.exit(status);
  });
  return child;
});

function stop(code: number) {
  if (stopping) return;
  stopping = true;
  status = code;
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 3000).unref();
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
