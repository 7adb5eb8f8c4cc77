/** `npm run demo`: IdP, app and API side by side; Ctrl-C stops them all. */
import { type ChildProcess, spawn } from 'node:child_process';

const services = [
  { name: 'idp', entry: 'idp/server.ts' },
  { name: 'app', entry: 'app/server.ts' },
  { name: 'api', entry: 'api/server.ts' },
];

const children: ChildProcess[] = services.map(({ entry }) =>
  spawn(process.execPath, ['--import', 'tsx', entry], { stdio: 'inherit', env: process.env }),
);

console.log(`
  OpenID Provider  http://localhost:4000
  BFF app          http://localhost:3000   (open http://localhost:3000/about)
  API              http://localhost:5000   (GET /api/profile with a bearer token)
  Sign in as       bob / secret
  Ctrl-C stops all three.
`);

let stopping = false;
const stop = (code: number) => {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 3000).unref();
};
for (const child of children) {
  child.on('exit', (code) => {
    if (!stopping) console.error(`a service exited (code ${code}); stopping the demo`);
    stop(code ?? 0);
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(code ?? 0);
  });
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
