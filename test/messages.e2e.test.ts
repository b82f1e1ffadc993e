// Messages and flags from the newcomer trial (issue 9): what verify, check and the flags say, run as a user runs
// them (node dist/main.js in a temp project). Each case failed before its fix.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, copyEntry, demoProject, keygate, serveRefused, tempDir, writeTree } from './helpers/project.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** A project with a config, generated and pinned. */
function pinned(config: unknown, extra: Record<string, string> = {}, template = 'app.cjs\nkeygate.config.json\n'): string {
  const dir = tempDir('kg-msg-');
  copyEntry(dir);
  writeTree(dir, { 'app.cjs': 'module.exports = {};\n', 'keygate.config.json': typeof config === 'string' ? config : JSON.stringify(config), 'filelist.template': template, ...extra });
  for (const cmd of ['generate-filelist', 'pin']) {
    const r = keygate(dir, [cmd]);
    assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
  }
  return dir;
}

const noStack = (s: string) => assert.doesNotMatch(s, /\n\s+at /);

test('verify and check refuse a config with typos (CONFIG_INVALID, exit 2), listing every problem', () => {
  const dir = pinned({ vault: { alias: 'a', timeoutMS: 5 }, server: { prot: 8443, port: '8443' } });
  for (const cmd of ['verify', 'check']) {
    const r = keygate(dir, [cmd]);
    assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, /keygate: error: failed to read keygate\.config\.json: 3 problems \[CONFIG_INVALID\]/, cmd);
    assert.match(r.stderr, /\n {2}vault\.timeoutMS: unknown setting \(did you mean "timeoutMs"\?\)\n/, cmd);
    assert.match(r.stderr, /\n {2}server\.prot: unknown setting \(did you mean "port"\?\)\n/, cmd);
    assert.match(r.stderr, /\n {2}server\.port: must be a whole number from 0 to 65535\n/, cmd);
    assert.match(r.stderr, /fix: .*docs\/configuration\.md.*node dist\/main\.js generate-filelist && node dist\/main\.js pin/, cmd);
    noStack(r.stderr);
  }
  // bad JSON: see the trailing-comma test below (every command refuses it, generate-filelist first)
  // a sound config passes both
  const good = pinned({ server: { port: 9443 } });
  for (const cmd of ['verify', 'check']) assert.equal(keygate(good, [cmd]).code, 0, cmd);
  // no config at all: serve uses the defaults, so verify and check pass
  const none = tempDir('kg-msg-');
  copyEntry(none);
  writeTree(none, { 'app.cjs': '', 'filelist.template': 'app.cjs\n' });
  for (const cmd of ['generate-filelist', 'pin', 'verify', 'check']) assert.equal(keygate(none, [cmd]).code, 0, cmd);
  // a config the manifest does not list: serve refuses to read it, so verify and check refuse it now
  writeFileSync(join(none, 'keygate.config.json'), '{}');
  for (const cmd of ['verify', 'check']) {
    const r = keygate(none, [cmd]);
    assert.equal(r.code, 3, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, /failed to verify keygate\.config\.json: it is not in the manifest/, cmd);
    assert.match(r.stderr, /fix: add the line keygate\.config\.json to filelist\.template/, cmd);
  }
});

test('a KEYGATE_* variable for another command\'s flag does not break verify or check; one naming no flag is a usage error', () => {
  const dir = pinned({ server: { port: 9443 } });
  for (const cmd of ['verify', 'check', 'pin', 'generate-filelist']) {
    const r = keygate(dir, [cmd], { env: { KEYGATE_PORT: '9443', KEYGATE_HOST: '::1', KEYGATE_PASSWORD_FILE: '/nope' } });
    assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
  }
  const typo = keygate(dir, ['verify'], { env: { KEYGATE_PROT: '9443' } });
  assert.equal(typo.code, 2, typo.stderr);
  assert.match(typo.stderr, /failed to read the environment: KEYGATE_PROT names no flag of any keygate command \(--prot\) \(did you mean KEYGATE_PORT\?\) \[USAGE\]/);
  assert.match(typo.stderr, /fix: unset KEYGATE_PROT/);
  // the variables still work where their flag exists
  const json = keygate(dir, ['verify'], { env: { KEYGATE_LOG_FORMAT: 'json' } });
  assert.equal(json.code, 0, json.stderr);
  assert.match(json.stderr, /^\{"level":"info",.*"message":"verified 3 files/);
  const jsonOut = keygate(dir, ['verify'], { env: { KEYGATE_JSON: 'true' } });
  assert.equal(JSON.parse(jsonOut.stdout).ok, true);
  const serveBad = keygate(dir, ['serve'], { env: { KEYGATE_PORT: 'abc' } });
  assert.equal(serveBad.code, 2, serveBad.stderr);
  assert.match(serveBad.stderr, /--port must be a whole number/);
  // a flag on the command line beats its variable
  const flagWins = keygate(dir, ['verify', '--log-format', 'text'], { env: { KEYGATE_LOG_FORMAT: 'json' } });
  assert.match(flagWins.stderr, /^keygate: verified 3 files/);
});

test('check: an entry that was never pinned, or pins an older manifest, says so and gives the command (no list of "new" files)', () => {
  const dir = tempDir('kg-msg-');
  copyEntry(dir);
  writeTree(dir, { 'a.js': 'a', 'b.js': 'b', 'filelist.template': 'a.js\nb.js\n' });
  assert.equal(keygate(dir, ['generate-filelist']).code, 0);
  const never = keygate(dir, ['check']);
  assert.equal(never.code, 3, never.stderr);
  assert.match(never.stderr, /failed to check .*dist\/main\.js: it was never pinned \(filelist\.sha256 is current\) \[PIN_STALE\]/);
  assert.match(never.stderr, /fix: node dist\/main\.js pin/); // hints name keygate as it was run
  assert.doesNotMatch(never.stderr, /new:/);
  // pinned, then a file changed and the manifest regenerated, but pin forgotten (the trial's case)
  assert.equal(keygate(dir, ['pin']).code, 0);
  writeFileSync(join(dir, 'a.js'), 'changed');
  assert.equal(keygate(dir, ['generate-filelist']).code, 0);
  const forgot = keygate(dir, ['check']);
  assert.equal(forgot.code, 3, forgot.stderr);
  assert.match(forgot.stderr, /filelist\.sha256 is current, but the entry pins an older manifest/);
  assert.match(forgot.stderr, /fix: node dist\/main\.js pin/);
  assert.doesNotMatch(forgot.stderr, /new:/);
});

test('an unset ${VAR} at verify says to export it where keygate runs, not to restore files', () => {
  const dir = tempDir('kg-msg-');
  copyEntry(dir);
  writeTree(dir, { 'vendor/v.js': 'v', 'filelist.template': '${APP_HOME}/v.js\n' });
  const env = { APP_HOME: join(dir, 'vendor') };
  assert.equal(keygate(dir, ['generate-filelist'], { env }).code, 0);
  assert.equal(keygate(dir, ['pin'], { env }).code, 0);
  assert.equal(keygate(dir, ['verify'], { env }).code, 0);
  const r = keygate(dir, ['verify']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /uses \$\{APP_HOME\}, which is not set/);
  assert.match(r.stderr, /fix: export APP_HOME=.* (in|to) the environment keygate runs in.*Environment=APP_HOME=/);
  assert.doesNotMatch(r.stderr, /restore the files/);
});

test('--version prints the package version (built in, no file read), on both bins', () => {
  const dir = tempDir('kg-msg-');
  copyEntry(dir); // its package.json has no version: the number must come from the build
  for (const entry of ['dist/main.js', 'dist/generate-filelist.js']) {
    const r = keygate(dir, ['--version'], { entry });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${VERSION}\n`);
  }
  assert.equal(keygate(dir, ['verify', '--version']).stdout, `${VERSION}\n`);
});

test('verify --json prints a JSON report on a pin error too', () => {
  const dir = tempDir('kg-msg-');
  copyEntry(dir);
  writeTree(dir, { 'a.js': 'a', 'filelist.template': 'a.js\n' });
  assert.equal(keygate(dir, ['generate-filelist']).code, 0);
  const unpinned = keygate(dir, ['verify', '--json']);
  assert.equal(unpinned.code, 3, unpinned.stderr);
  const u = JSON.parse(unpinned.stdout);
  assert.equal(u.ok, false);
  assert.equal(u.error.code, 'PIN_INVALID');
  assert.match(u.error.message, /never pinned/);
  assert.match(u.error.fix, /node dist\/main\.js pin/);
  assert.equal(keygate(dir, ['pin']).code, 0);
  writeFileSync(join(dir, 'a.js'), 'changed');
  assert.equal(keygate(dir, ['generate-filelist']).code, 0);
  const mismatch = keygate(dir, ['verify', '--json']);
  assert.equal(mismatch.code, 3);
  const m = JSON.parse(mismatch.stdout);
  assert.equal(m.ok, false);
  assert.equal(m.error.code, 'PIN_MISMATCH');
  assert.match(m.error.fix, /node dist\/main\.js pin/);
  // file problems: the report, with the error beside it
  assert.equal(keygate(dir, ['pin']).code, 0);
  writeFileSync(join(dir, 'a.js'), 'again');
  const files = JSON.parse(keygate(dir, ['verify', '--json']).stdout);
  assert.deepEqual(files.changed, ['a.js']);
  assert.equal(files.error.code, 'INTEGRITY_MISMATCH');
});

test('one trailing comma in keygate.config.json: every command says CONFIG_INVALID with file, line and column (exit 2), before the template or the entry', () => {
  const dir = pinned({ server: { port: 9443 } });
  // what a user does: edits the pinned config by hand and leaves a comma behind
  writeFileSync(join(dir, 'keygate.config.json'), '{\n  "server": { "port": 9443 },\n}\n');
  const file = join(dir, 'keygate.config.json');
  for (const cmd of ['generate-filelist', 'pin', 'verify', 'check', 'serve', 'doctor']) {
    const r = keygate(dir, [cmd]);
    assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
    assert.equal(
      r.stderr,
      `keygate: error: failed to read ${file}: invalid JSON at line 3, column 1: expected double-quoted property name (a trailing comma: JSON allows none) [CONFIG_INVALID]\n` +
        `  fix: edit ${file} at line 3, column 1, then node dist/main.js generate-filelist && node dist/main.js pin\n`,
      cmd,
    );
  }
  // the project's own entry named in the config (init's layout): still the JSON, not "failed to read main entry"
  writeFileSync(file, '{\n  "entry": "keygate/main.cjs",\n}\n');
  const r = keygate(dir, ['pin']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /invalid JSON at line 3, column 1: .* \[CONFIG_INVALID\]\n/);
  assert.doesNotMatch(r.stderr, /main entry|template/);
});

test('server.backend.command[0] "python3": must be absolute (no PATH lookup), and the fix names the program found on PATH', () => {
  const dir = pinned({ server: { port: 9443 } });
  const bin = tempDir('kg-bin-');
  writeTree(bin, { python3: '#!/bin/sh\n' });
  chmodSync(join(bin, 'python3'), 0o755);
  const file = join(dir, 'keygate.config.json');
  writeFileSync(file, JSON.stringify({ server: { backend: { command: ['python3', 'app.py'], user: 'app', sameUser: true } } }));
  for (const cmd of ['generate-filelist', 'verify', 'serve']) {
    const r = keygate(dir, [cmd], { env: { PATH: `${bin}:/usr/bin:/bin` } });
    assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
    assert.equal(
      r.stderr,
      `keygate: error: failed to read ${file}: server.backend.command[0] is "python3", but it must be an absolute path (keygate does no PATH lookup) [CONFIG_INVALID]\n` +
        `  fix: write "${bin}/python3" (python3 on this PATH) as server.backend.command[0], then node dist/main.js generate-filelist && node dist/main.js pin\n`,
      cmd,
    );
  }
  // not on PATH at all: the fix says how to find it
  writeFileSync(file, JSON.stringify({ server: { backend: { command: ['no-such-interpreter'] } } }));
  const r = keygate(dir, ['generate-filelist'], { env: { PATH: bin } });
  assert.match(r.stderr, /fix: write the absolute path of no-such-interpreter as server\.backend\.command\[0\] \(command -v no-such-interpreter prints it\)/);
});

test('a bare keygate prints the usage and exits 2 at once (it used to start the server); -h is --help; typos get "did you mean"', () => {
  const dir = pinned({ server: { port: 9443 } });
  for (const argv of [[], ['--port', '9443']]) {
    const r = keygate(dir, argv, { timeout: 20_000 });
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^node dist\/main\.js <command> \[options\]\n/);
    assert.match(r.stderr, /\n {2}node dist\/main\.js serve +verify, ask the vault/);
    assert.match(r.stderr, /\nkeygate: error: no command given \[USAGE\]\n {2}fix: node dist\/main\.js serve \(the gated start\), or node dist\/main\.js <command> --help\n$/);
    assert.doesNotMatch(r.stderr, /verified|vault asked/);
  }
  const h = keygate(dir, ['-h']);
  assert.equal(h.code, 0, h.stderr);
  assert.equal(h.stdout, keygate(dir, ['--help']).stdout);
  assert.match(h.stdout, /Commands:/);
  // every command's help ends with its exit codes; keystore's had none (F-16)
  assert.match(keygate(dir, ['keystore', 'create', '--help']).stdout, /\nExit codes: 0 written, 2 usage .*5\s+keystore \(it exists: --force\)/s);
  const cases: Array<[string[], string]> = [
    [['verify', '--jsn'], 'Unknown argument: jsn (did you mean --json?) [USAGE]\n  fix: run node dist/main.js verify --help\n'],
    [['serve', '--prot', '9443'], 'Unknown argument: prot (did you mean --port?) [USAGE]\n  fix: run node dist/main.js serve --help\n'],
    [['verfy'], 'Unknown argument: verfy (did you mean "verify"?) [USAGE]\n  fix: run node dist/main.js --help\n'],
    [['keystore', 'create'], 'Missing required argument: password-file [USAGE]\n  fix: run node dist/main.js keystore create --help\n'],
  ];
  for (const [argv, tail] of cases) {
    const r = keygate(dir, argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.stderr, `keygate: error: ${tail}`, argv.join(' '));
  }
});

test('a missing keystore: the fix creates the configured path (keystore create defaults to keystore.path) and says which password', async () => {
  const p = demoProject();
  rmSync(join(p.dir, 'keystore/keygate-demo.p12'));
  const r = await serveRefused(p.dir);
  assert.equal(r.code, 5, r.stderr);
  const path = join(p.dir, 'keystore/keygate-demo.p12');
  assert.match(r.stderr, new RegExp(`\\n  fix: check keystore\\.path in keygate\\.config\\.json, or create it: node dist/main\\.js keystore create --force --out ${path.replace(/[.]/g, '\\.')} --password-file <file holding the password the vault has for vault\\.alias>\\n`));
});
