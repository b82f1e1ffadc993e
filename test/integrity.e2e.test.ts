// The integrity toolchain end to end, as a user runs it: real files in temp dirs, `node dist/main.js`,
// the real `sha256sum -c`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, mkdirSync, readFileSync, rmSync, renameSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyEntry, keygate, run, sha256, sha256File, tempDir, writeTree, IS_ROOT } from './helpers/project.js';

function project(files: Record<string, string>, template: string): string {
  const dir = tempDir('kg-int-');
  copyEntry(dir);
  writeTree(dir, { ...files, 'filelist.template': template });
  return dir;
}

const lastLine = (s: string) => s.trim().split('\n').pop()!;

const seedTree = {
  'log_config.py': 'print(1)\n',
  'request_handlers.py': 'def h(): pass\n',
  '__pycache__/log_config.cpython-313.pyc': 'pyc1',
  '__pycache__/log_config.cpython-313.opt-1.pyc': 'pyc2',
  '__pycache__/other.cpython-313.pyc': 'not matched',
  'lib/http/client.py': 'c',
  'lib/http/sub/deep.py': 'd',
  'lib/ssl.py': 's',
};

test('generate-filelist: seed 000 template lines, sorted GNU manifest, hash on the last stdout line, sha256sum -c passes', () => {
  const dir = project(seedTree, '.\\log_config.py\n.\\request_handlers.py\n.\\__pycache__\\log_config.*\n\n.\\lib\\http\n' + `${'ABS'}\n`);
  // an absolute line, as the seed's C:\opt\Python313\Lib\ssl.py
  writeFileSync(join(dir, 'filelist.template'), readFileSync(join(dir, 'filelist.template'), 'utf8').replace('ABS', join(dir, 'lib/ssl.py')));
  const r = keygate(dir, ['generate-filelist']);
  assert.equal(r.code, 0, r.stderr);
  const manifest = readFileSync(join(dir, 'filelist.sha256'), 'utf8');
  assert.equal(lastLine(r.stdout), sha256(manifest));
  const paths = manifest.trim().split('\n').map((l) => l.slice(66));
  assert.deepEqual(paths, [
    join(dir, 'lib/ssl.py'),
    '__pycache__/log_config.cpython-313.opt-1.pyc',
    '__pycache__/log_config.cpython-313.pyc',
    'filelist.template',
    'lib/http/client.py',
    'lib/http/sub/deep.py',
    'log_config.py',
    'request_handlers.py',
  ]);
  assert.match(manifest, /^[0-9a-f]{64} \*/);
  const check = run('sha256sum', ['-c', '--strict', 'filelist.sha256'], { cwd: dir });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  // Deterministic: regenerating an untouched tree gives identical bytes and hash.
  const again = keygate(dir, ['generate-filelist']);
  assert.equal(lastLine(again.stdout), lastLine(r.stdout));
  assert.equal(readFileSync(join(dir, 'filelist.sha256'), 'utf8'), manifest);
  // the separate bin does the same
  const bin = keygate(dir, [], { entry: 'dist/generate-filelist.js' });
  assert.equal(bin.code, 0, bin.stderr);
  assert.equal(lastLine(bin.stdout), lastLine(r.stdout));
});

test('generate-filelist: comments, **, !exclude, optional lines, ${NODE} and ${ENV} variables', () => {
  const dir = project(
    { 'src/a.js': 'a', 'src/x/b.js': 'b', 'src/x/b.txt': 't', 'src/cache/c.js': 'c', 'vendor/v.js': 'v' },
    '# comment\n\nsrc/**/*.js\n!src/cache\n? not/there\n${NODE}\n${VENDOR}/v.js\n',
  );
  const r = keygate(dir, ['generate-filelist'], { env: { VENDOR: join(dir, 'vendor') } });
  assert.equal(r.code, 0, r.stderr);
  const paths = readFileSync(join(dir, 'filelist.sha256'), 'utf8').trim().split('\n').map((l) => l.slice(66));
  assert.deepEqual(paths.sort(), [join(dir, 'vendor/v.js'), process.execPath, 'filelist.template', 'src/a.js', 'src/x/b.js'].sort());
});

test('generate-filelist: a line that matches nothing is an error naming the line number (exit 7)', () => {
  const dir = project({ 'a.js': 'a' }, 'a.js\n# c\nmissing/file.js\nnope/*.js\n');
  const r = keygate(dir, ['generate-filelist']);
  assert.equal(r.code, 7);
  assert.match(r.stderr, /line 3 \(missing\/file\.js\) matches no file; line 4 \(nope\/\*\.js\) matches no file/);
  assert.match(r.stderr, /TEMPLATE_NO_MATCH/);
  assert.match(r.stderr, /fix: .*optional/);
  assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
});

test('generate-filelist: bad input gets one clear line and an exit code, never a stack trace', () => {
  const dir = project({ 'a.js': 'a' }, 'a.js\n');
  const cases: [string[], string | undefined, number, RegExp][] = [
    [['generate-filelist', '--template', 'nope.template'], undefined, 7, /failed to read template .*nope\.template: ENOENT/],
    [['generate-filelist'], 'a.js\n../outside\n', 7, /line 2 uses '\.\.'/],
    [['generate-filelist'], 'a[.js\n', 7, /unmatched '\['/],
    [['generate-filelist'], 'a.js\n\0\x01binary', 7, /NUL byte/],
    [['generate-filelist', '--bogus'], undefined, 2, /Unknown argument/],
  ];
  for (const [args, template, code, re] of cases) {
    if (template !== undefined) writeFileSync(join(dir, 'filelist.template'), template);
    const r = keygate(dir, args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('generate-filelist: a permission-denied file is a clear error', () => {
  const dir = project({ 'a.js': 'a', 'secret.js': 's' }, 'a.js\nsecret.js\n');
  chmodSync(join(dir, 'secret.js'), 0o000);
  // root reads anything: run the check as nobody, the way a service user would meet it
  const r = keygate(dir, ['generate-filelist', '--manifest', join(tempDir(), 'm.sha256')], IS_ROOT ? { uid: 65534 } : {});
  assert.equal(r.code, 7, r.stderr);
  assert.match(r.stderr, /failed to hash 1 file\(s\): secret\.js \(permission denied\)/);
});

test('pin: writes the manifest hash into the entry, prints the entry sha256, idempotent', () => {
  const dir = project({ 'a.js': 'a' }, 'a.js\n');
  const gen = keygate(dir, ['generate-filelist']);
  const manifestHash = lastLine(gen.stdout);
  const p1 = keygate(dir, ['pin']);
  assert.equal(p1.code, 0, p1.stderr);
  assert.equal(lastLine(p1.stdout), sha256File(join(dir, 'dist/main.js')));
  assert.ok(readFileSync(join(dir, 'dist/main.js'), 'utf8').includes(`@@KEYGATE_PIN@@:${manifestHash}`));
  const before = readFileSync(join(dir, 'dist/main.js'));
  const p2 = keygate(dir, ['pin']);
  assert.equal(lastLine(p2.stdout), lastLine(p1.stdout));
  assert.match(p2.stderr, /already pinned/);
  assert.deepEqual(readFileSync(join(dir, 'dist/main.js')), before);
});

test('pin: refuses a malformed manifest and an entry without a pin slot', () => {
  const dir = project({ 'a.js': 'a' }, 'a.js\n');
  const H = 'a'.repeat(64);
  const bad: [string, RegExp][] = [
    [`${'z'.repeat(64)} *a.js\n`, /64 lowercase hex/],
    [`${H}  a.js\n`, /' \*'/],
    [`${H} *a.js\r\n`, /CRLF/],
    ['', /empty/],
  ];
  for (const [text, re] of bad) {
    writeFileSync(join(dir, 'filelist.sha256'), text);
    const r = keygate(dir, ['pin']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /MANIFEST_MALFORMED/);
    assert.match(r.stderr, re);
  }
  keygate(dir, ['generate-filelist']);
  writeFileSync(join(dir, 'other.js'), 'console.log(1)\n');
  const r = keygate(dir, ['pin', '--entry', 'other.js']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /no @@KEYGATE_PIN@@: marker/);
});

test('verify: a pin that is not 64 hex is refused (exit 3)', () => {
  const dir = project({ 'a.js': 'a' }, 'a.js\n');
  keygate(dir, ['generate-filelist']);
  const entry = readFileSync(join(dir, 'dist/main.js'), 'latin1').replace(/@@KEYGATE_PIN@@:[0-9a-f]{64}/, `@@KEYGATE_PIN@@:${'Z'.repeat(64)}`);
  writeFileSync(join(dir, 'dist/main.js'), entry, 'latin1');
  const r = keygate(dir, ['verify']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /expected 64 lowercase hex digits/);
});

test('verify: untouched tree passes; every kind of problem is reported at once (exit 3, --json)', () => {
  const dir = project({ 'app/a.js': 'a', 'app/b.js': 'b', 'app/c.js': 'c', 'app/d.js': 'd', 'conf.json': '{}' }, 'app\nconf.json\n');
  keygate(dir, ['generate-filelist']);
  keygate(dir, ['pin']);
  const ok = keygate(dir, ['verify']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /verified 6 files/); // 4 in app/, conf.json, the template
  appendFileSync(join(dir, 'app/a.js'), '// changed');
  rmSync(join(dir, 'app/b.js'));
  writeFileSync(join(dir, 'app/new.js'), 'evil()');
  rmSync(join(dir, 'app/c.js'));
  mkdirSync(join(dir, 'app/c.js')); // a folder where a file was
  const r = keygate(dir, ['verify']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /changed: +app\/a\.js/);
  assert.match(r.stderr, /missing: +app\/b\.js/);
  assert.match(r.stderr, /new: +app\/new\.js/);
  assert.match(r.stderr, /unreadable: app\/c\.js \(is a folder, not a file\)/);
  assert.match(r.stderr, /INTEGRITY_MISMATCH/);
  const j = keygate(dir, ['verify', '--json']);
  assert.equal(j.code, 3);
  const report = JSON.parse(j.stdout);
  assert.deepEqual(
    { ok: report.ok, changed: report.changed, missing: report.missing, new: report.new, unreadable: report.unreadable },
    { ok: false, changed: ['app/a.js'], missing: ['app/b.js'], new: ['app/new.js'], unreadable: [{ path: 'app/c.js', reason: 'is a folder, not a file' }] },
  );
});

test('verify: an edited manifest, a changed template and a missing manifest are caught', () => {
  const dir = project({ 'a.js': 'a', 'b.js': 'b' }, 'a.js\nb.js\n');
  keygate(dir, ['generate-filelist']);
  keygate(dir, ['pin']);
  const m = readFileSync(join(dir, 'filelist.sha256'), 'utf8');
  writeFileSync(join(dir, 'filelist.sha256'), m.replace(/^[0-9a-f]/, (c) => (c === '0' ? '1' : '0')));
  let r = keygate(dir, ['verify']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /PIN_MISMATCH/);
  writeFileSync(join(dir, 'filelist.sha256'), m);
  appendFileSync(join(dir, 'filelist.template'), '!b.js\n');
  r = keygate(dir, ['verify']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /changed: +filelist\.template/);
  renameSync(join(dir, 'filelist.sha256'), join(dir, 'gone'));
  r = keygate(dir, ['verify']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /MANIFEST_UNREADABLE/);
});

test('check: passes when current, fails with the differing files when stale', () => {
  const dir = project({ 'app/a.js': 'a', 'app/b.js': 'b' }, 'app\n');
  keygate(dir, ['generate-filelist']);
  keygate(dir, ['pin']);
  const ok = keygate(dir, ['check']);
  assert.equal(ok.code, 0, ok.stderr);
  writeFileSync(join(dir, 'app/b.js'), 'B');
  writeFileSync(join(dir, 'app/c.js'), 'c');
  const r = keygate(dir, ['check']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /PIN_STALE/);
  assert.match(r.stderr, /changed: +app\/b\.js/);
  assert.match(r.stderr, /new: +app\/c\.js/);
  // check regenerates in memory: the manifest on disk is untouched
  assert.equal(keygate(dir, ['verify']).code, 3);
});

test('symlink policy: a symlinked file is listed and hashed through the link; a symlinked folder is refused', () => {
  const dir = project({ 'app/a.js': 'a', 'elsewhere/target.js': 't', 'elsewhere/dir/x.js': 'x' }, 'app\n');
  symlinkSync('../elsewhere/target.js', join(dir, 'app/linked.js'));
  let r = keygate(dir, ['generate-filelist']);
  assert.equal(r.code, 0, r.stderr);
  const manifest = readFileSync(join(dir, 'filelist.sha256'), 'utf8');
  assert.match(manifest, new RegExp(`${sha256('t')} \\*app/linked\\.js`));
  assert.equal(run('sha256sum', ['-c', 'filelist.sha256'], { cwd: dir }).code, 0);
  keygate(dir, ['pin']);
  writeFileSync(join(dir, 'elsewhere/target.js'), 'changed through the link');
  r = keygate(dir, ['verify']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /changed: +app\/linked\.js/);

  symlinkSync('../elsewhere/dir', join(dir, 'app/linkdir'));
  r = keygate(dir, ['generate-filelist']);
  assert.equal(r.code, 7);
  assert.match(r.stderr, /SYMLINK_REFUSED/);
  assert.match(r.stderr, /app\/linkdir is a symlinked folder/);
  appendFileSync(join(dir, 'filelist.template'), '!app/linkdir\n');
  r = keygate(dir, ['generate-filelist']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(readFileSync(join(dir, 'filelist.sha256'), 'utf8'), /linkdir/);
  // a symlinked folder named explicitly is the user's choice and is followed
  writeFileSync(join(dir, 'filelist.template'), 'app/linkdir\n');
  r = keygate(dir, ['generate-filelist']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(readFileSync(join(dir, 'filelist.sha256'), 'utf8'), /\*app\/linkdir\/x\.js/);
});

test('names with backslash and newline use GNU escaping that sha256sum -c reads', () => {
  const dir = project({ 'w/back\\slash.js': 'b', 'w/new\nline.js': 'n', 'w/plain.js': 'p' }, 'w\n');
  const r = keygate(dir, ['generate-filelist']);
  assert.equal(r.code, 0, r.stderr);
  const check = run('sha256sum', ['-c', 'filelist.sha256'], { cwd: dir });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  keygate(dir, ['pin']);
  assert.equal(keygate(dir, ['verify']).code, 0);
});

test('progress goes to stderr only on a TTY, logs can be JSON', () => {
  const dir = project({ 'a.js': 'a' }, 'a.js\n');
  const r = keygate(dir, ['generate-filelist', '--log-format', 'json']);
  assert.equal(r.code, 0);
  assert.doesNotMatch(r.stderr, /\r/);
  for (const line of r.stderr.trim().split('\n')) assert.equal(typeof JSON.parse(line).message, 'string');
  assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
});

test('hostile sizes: a 1 GB manifest line and a 1 GB template are refused without reading them', () => {
  const dir = project({ 'a.js': 'a' }, 'a.js\n');
  keygate(dir, ['generate-filelist']);
  keygate(dir, ['pin']);
  truncateSync(join(dir, 'filelist.sha256'), 1024 ** 3); // sparse: one 1 GB line of NULs
  let r = keygate(dir, ['verify'], { timeout: 20_000 });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /more than the 67108864 allowed/);
  r = keygate(dir, ['pin'], { timeout: 20_000 });
  assert.equal(r.code, 3);
  truncateSync(join(dir, 'filelist.template'), 1024 ** 3);
  r = keygate(dir, ['generate-filelist'], { timeout: 20_000 });
  assert.equal(r.code, 7, r.stderr);
  assert.match(r.stderr, /TEMPLATE_INVALID/);
});
