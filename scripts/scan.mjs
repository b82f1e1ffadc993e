// npm run scan: starts the gated demo in a temp copy and checks its TLS with a real scanner (testssl.sh from
// Debian's packages). Fails when the scanner reports any finding of severity MEDIUM, HIGH or CRITICAL.
// Slow (a minute or two), so it is its own script rather than part of npm test.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const testssl = ['testssl', 'testssl.sh'].find((c) => spawnSync('which', [c]).status === 0);
if (!testssl) {
  console.error('scan: testssl.sh is not installed: apt-get install testssl.sh');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'kg-scan-'));
for (const p of ['dist', 'dev', 'app', 'content', 'filelist.template', 'package.json']) cpSync(join(root, p), join(dir, p), { recursive: true });
for (const p of ['dev/cspm/a2a-store.json', 'dev/cspm/a2a-calls.log']) rmSync(join(dir, p), { force: true });
const config = JSON.parse(readFileSync(join(root, 'keygate.config.json'), 'utf8'));
config.server.port = 18443;
writeFileSync(join(dir, 'keygate.config.json'), JSON.stringify(config, null, 2));
const setup = spawnSync(process.execPath, ['dist/main.js', 'dev-setup'], { cwd: dir, stdio: 'inherit' });
if (setup.status !== 0) process.exit(setup.status ?? 1);

const server = spawn(process.execPath, ['dist/main.js', 'serve'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve, reject) => {
  server.stdout.on('data', (d) => String(d).includes('https://') && resolve());
  server.on('exit', (c) => reject(new Error(`serve exited ${c}`)));
});
const json = join(dir, 'testssl.json');
const scan = spawnSync(testssl, ['--quiet', '--color', '0', '--warnings', 'off', '--jsonfile', json, '--ip', '127.0.0.1', 'https://localhost:18443/'], {
  stdio: ['ignore', 'inherit', 'inherit'],
  timeout: 15 * 60_000,
});
server.kill('SIGTERM');
const findings = JSON.parse(readFileSync(json, 'utf8'));
const bad = findings.filter((f) => ['MEDIUM', 'HIGH', 'CRITICAL'].includes(f.severity));
// Findings about the demo certificate itself, not the TLS profile: it is issued by a private dev CA (no public
// trust, no CRL/OCSP URL), as `npm start` makes it (src/commands/dev-setup.ts).
const ignore = new Set(['cert_chain_of_trust', 'cert_trust', 'cert_caIssuers', 'cert_crlDistributionPoints', 'cert_ocspURL', 'OCSP_stapling', 'cert_revocation', 'cert_validityPeriod']);
const real = bad.filter((f) => !ignore.has(f.id));
console.log(`\nscan: ${findings.length} checks; ${bad.length} MEDIUM+ (${bad.length - real.length} about the dev-CA demo certificate's trust)`);
for (const f of bad) console.log(`  ${ignore.has(f.id) ? '(demo cert) ' : ''}${f.severity} ${f.id}: ${f.finding}`);
rmSync(dir, { recursive: true, force: true });
process.exitCode = scan.status === null ? 1 : real.length ? 1 : 0;
