import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig, DEFAULT_CONFIG, describeJsonError } from './config.js';

test('empty config gives the defaults', () => {
  const r = validateConfig({});
  assert.ok(r.ok);
  assert.deepEqual(JSON.parse(JSON.stringify(r.config)), DEFAULT_CONFIG);
  assert.deepEqual(r.warnings, []);
});

test('every problem is reported at once, as <dot.path>: <message>', () => {
  const r = validateConfig({ vault: { provider: 'ldap', timeoutMs: -1, extra: 1 }, server: { port: 70000, hsts: 'yes' }, nope: {} });
  assert.equal(r.ok, false);
  assert.deepEqual(!r.ok && r.errors.sort(), [
    'nope: unknown setting',
    'server.hsts: must be true or false',
    'server.port: must be a whole number from 0 to 65535',
    'vault.extra: unknown setting',
    'vault.provider: must be one of cspm, command',
    'vault.timeoutMs: must be a whole number from 100 to 600000',
  ]);
});

test('command provider needs an argv array; warnings for risky choices', () => {
  assert.deepEqual(!validateConfig({ vault: { provider: 'command' } }).ok && true, true);
  assert.equal(validateConfig({ vault: { provider: 'command', command: 'echo pw' } }).ok, false);
  const r = validateConfig({ vault: { provider: 'command', command: ['/bin/get-pw', 'svc'] }, server: { host: '0.0.0.0' }, keystore: { allowExpired: true } });
  assert.ok(r.ok);
  assert.equal(r.warnings.length, 2);
  assert.equal(validateConfig([]).ok, false);
});

test('server.backend: defaults filled in, every bad setting named, secrets kept out of its environment', () => {
  const ok = validateConfig({ server: { backend: { command: ['/usr/bin/python3', 'app.py'], listen: 'fd', sameUser: true } } });
  assert.ok(ok.ok);
  const b = ok.config.server.backend!;
  assert.deepEqual([b.cwd, b.listen, b.passEnv, b.restart.maxRestarts, b.watchdog], ['.', 'fd', ['PATH', 'LANG', 'LC_ALL', 'TZ'], 5, true]);
  assert.equal(validateConfig({ server: { backend: { command: ['${NODE}', 'app.js', '${SOCKET}'], sameUser: true } } }).ok, true);

  const bad = validateConfig({
    server: {
      handler: 'app/h.cjs',
      backend: {
        command: ['python3', 'app.py'],
        listen: 'tcp',
        env: { CSPM_CLIENT_HOME: '/opt/cspm', 'BAD NAME': 'x', N: 1 },
        passEnv: ['KEYGATE_PORT', 'NODE_OPTIONS', 'HOME'],
        readyPath: 'health',
        restart: { initialDelayMs: 5000, maxDelayMs: 1000, bogus: 1 },
        extra: true,
      },
    },
  });
  assert.equal(bad.ok, false);
  assert.deepEqual(!bad.ok && bad.errors.sort(), [
    'server.backend.command: the program "python3" must be an absolute path or ${NODE} (keygate does no PATH lookup)',
    'server.backend.env: "BAD NAME" is not a variable name',
    'server.backend.env: "CSPM_CLIENT_HOME" is reserved: keygate does not pass it to a backend',
    'server.backend.env: "N" must have a string value',
    'server.backend.extra: unknown setting',
    'server.backend.listen: must be one of unix, fd',
    'server.backend.passEnv: "KEYGATE_PORT" is reserved: keygate does not pass it to a backend',
    'server.backend.passEnv: "NODE_OPTIONS" is reserved: keygate does not pass it to a backend',
    'server.backend.readyPath: must start with /',
    'server.backend.restart.bogus: unknown setting',
    'server.backend.restart.maxDelayMs: must not be less than initialDelayMs',
    'server.backend.user: required in production (trust.anchors "refuse"): a backend under keygate\'s own user can read the password and the key from keygate\'s memory; set server.backend.user and server.user (docs/backend.md#privilege-separation), or server.backend.sameUser: true to accept that',
    'server.backend: cannot be used together with server.handler (choose one way to run the app)',
  ]);
  assert.equal(validateConfig({ server: { backend: {} } }).ok, false);
  assert.equal(validateConfig({ server: { backend: 'gunicorn' } }).ok, false);
});

test('privilege separation: both users, different, a unix socket; production refuses a backend under keygate\'s own user unless sameUser says so', () => {
  const backend = { command: ['/usr/bin/python3', 'app.py'] };
  const errs = (raw: unknown): string[] => {
    const r = validateConfig(raw);
    return r.ok ? [] : r.errors;
  };
  assert.deepEqual(errs({ server: { user: 'svc', backend: { ...backend, user: 'svc-app' } } }), []);
  assert.deepEqual(errs({ server: { backend: { ...backend, sameUser: true } } }), []);
  assert.deepEqual(errs({ server: { backend }, trust: { anchors: 'warn' } }), [], 'dev (trust.anchors warn) may run it under one user');
  assert.match(errs({ server: { backend } }).join('\n'), /server\.backend\.user: required in production/);
  assert.match(errs({ server: { backend: { ...backend, user: 'svc-app' } } }).join('\n'), /server\.user: required with server\.backend\.user/);
  assert.match(errs({ server: { user: 'svc', backend: { ...backend, user: 'svc' } } }).join('\n'), /must differ from server\.user/);
  assert.match(errs({ server: { user: 'svc', backend: { ...backend, user: 'svc-app', listen: 'fd' } } }).join('\n'), /must be "unix" with server\.backend\.user/);
  assert.match(errs({ server: { user: 'svc', backend: { ...backend, user: 'svc-app', sameUser: true } } }).join('\n'), /sameUser: cannot be used together/);
  assert.match(errs({ server: { user: 'root', backend: { ...backend, user: '0' } } }).join('\n'), /server\.backend\.user: must not be root\nserver\.user: must not be root/);
  assert.match(errs({ server: { user: 'a b', backend: { ...backend, sameUser: true } } }).join('\n'), /server\.user: must be a user or group name/);
  assert.match(errs({ server: { user: 'svc', handler: 'h.cjs' } }).join('\n'), /server\.user: is for backend mode only/);
});

test('describeJsonError: line and column from the offset, on every Node, and a trailing comma named', () => {
  const at = (text: string) => {
    try {
      JSON.parse(text);
    } catch (err) {
      return describeJsonError(text, err);
    }
    return 'parsed';
  };
  assert.equal(at('{\n  "server": { "port": 8443 },\n}\n'), 'line 3, column 1: expected double-quoted property name (a trailing comma: JSON allows none)');
  assert.match(at('{\n  "a" 1\n}'), /^line 2, column 7: /);
  assert.match(at('{"a": 1'), /^line 1, column 8: /);
  assert.equal(at(''), 'line 1, column 1: unexpected end of JSON input');
});

test('programs by absolute path as either platform writes one: C:\\ on Windows too; a bare name or a relative path is refused', () => {
  assert.equal(validateConfig({ vault: { provider: 'command', command: ['C:\\Program Files\\PAM\\get-pw.exe', 'svc'] } }).ok, true);
  assert.equal(validateConfig({ server: { backend: { command: ['C:/Python312/python.exe', '-m', 'waitress', 'app:app'], listen: 'fd', sameUser: true } } }).ok, true);
  for (const bad of ['python.exe', 'bin\\python.exe', 'C:python.exe']) {
    assert.equal(validateConfig({ vault: { provider: 'command', command: [bad] } }).ok, false, bad);
    assert.equal(validateConfig({ server: { backend: { command: [bad], listen: 'fd', sameUser: true } } }).ok, false, bad);
  }
});

test('trust.owners takes uids and, for Windows, SIDs; a name or a malformed SID is refused', () => {
  const ok = validateConfig({ trust: { owners: [1001, 'S-1-5-21-1004336348-1177238915-682003330-1001'] } });
  assert.ok(ok.ok, JSON.stringify(ok));
  if (ok.ok) {
    assert.deepEqual(ok.config.trust.owners, [1001]);
    assert.deepEqual(ok.config.trust.ownerSids, ['S-1-5-21-1004336348-1177238915-682003330-1001']);
  }
  for (const bad of ['DOMAIN\\deploy', 'S-1-5', 'S-1-5-21-x', 0]) {
    const r = validateConfig({ trust: { owners: [bad] } });
    assert.equal(r.ok, false, String(bad));
    if (!r.ok) assert.match(r.errors.join('\n'), /trust\.owners: must be an array of uids .* or, on Windows, SIDs/);
  }
});

test('server.acme: required settings, https, DNS names only, its own port, and the account alias kept off the served entry', () => {
  const base = { directoryUrl: 'https://ca.example.com/acme/directory', domains: ['shop.example.com'] };
  const ok = validateConfig({ server: { acme: base } });
  assert.ok(ok.ok, JSON.stringify(ok));
  if (ok.ok) assert.deepEqual([ok.config.server.acme?.httpPort, Math.round((ok.config.server.acme?.renewAtFraction ?? 0) * 1000)], [80, 667]);
  const problems = (acme: unknown, extra: Record<string, unknown> = {}): string => {
    const r = validateConfig({ server: { acme, ...extra } });
    return r.ok ? '' : r.errors.join('\n');
  };
  assert.match(problems({ domains: ['a.example.com'] }), /server\.acme\.directoryUrl: required/);
  assert.match(problems({ ...base, directoryUrl: 'http://ca.example.com/dir' }), /must be https/);
  assert.match(problems({ ...base, domains: ['*.example.com'] }), /server\.acme\.domains\[0\]: "\*\.example\.com" is not a DNS name/);
  assert.match(problems({ ...base, domains: ['192.0.2.1x', 'a..b'] }), /domains\[1\]/);
  assert.match(problems({ ...base, domains: ['a.example.com', 'A.example.com'] }), /lists a name twice/);
  assert.match(problems({ ...base, challenge: 'dns-01' }), /must be "http-01"/);
  assert.match(problems({ ...base, httpPort: 8443 }, { port: 8443 }), /server\.acme\.httpPort: 8443 is server\.port too/);
  assert.match(problems({ ...base, retryMinMs: 5000, retryMaxMs: 1000 }), /retryMaxMs: must not be less than retryMinMs/);
  assert.match(problems({ ...base, renewAtFraction: 1 }), /renewAtFraction: must be a number from 0\.01 to 0\.99/);
  assert.match(problems({ ...base, bogus: 1 }), /server\.acme\.bogus: unknown setting/);
  const alias = validateConfig({ server: { acme: base }, keystore: { alias: 'keygate-acme-account' } });
  assert.ok(!alias.ok && alias.errors.some((e) => /keystore\.alias: keygate-acme-account is the ACME account key's entry/.test(e)));
});
