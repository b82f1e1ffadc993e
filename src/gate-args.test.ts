// The gate's own parser against yargs on the same lines: wherever it answers, it answers what yargs does
// (command, every flag value, defaults, aliases, KEYGATE_* variables); wherever it is unsure it leaves the line
// to yargs. Planted and seen red: a repeated flag taken (yargs makes an array), KEYGATE_PORT kept as a string.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { GATE_COMMANDS } from './cli.js';
import { parseWithYargs } from './cli-yargs.js';
import { GLOBAL_FLAGS } from './commands/common.js';
import { parseGateArgs } from './gate-args.js';
import type { Io } from './context.js';

const io = (env: Record<string, string> = {}): Io => ({
  stdout: new PassThrough(),
  stderr: new PassThrough(),
  env,
  cwd: '/tmp',
  nodePath: process.execPath,
  entry: '/srv/app/dist/main.js',
});

/** The values yargs gives for the flags of the command's table (yargs adds camelCase copies, `_` and `$0`). */
function project(args: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => args[k] !== undefined).map((k) => [k, args[k]]));
}

const ANSWERED: Array<[string[], Record<string, string>?]> = [
  [['serve']],
  [['serve', '--port', '9443', '--host', '0.0.0.0']],
  [['serve', '--port=9443', '--log-format', 'json']],
  [['serve', '--allow-expired', '--insecure', '--alias', 'web']],
  [['serve', '--debug', '--log-file', '/tmp/kg.log']],
  [['serve'], { KEYGATE_PORT: '9444', KEYGATE_DEBUG: '1', KEYGATE_A2A_STORE: '/x' }],
  [['serve', '--port', '9445'], { KEYGATE_PORT: '9444' }],
  [['serve'], { KEYGATE_INSECURE: 'yes', KEYGATE_HOST: 'localhost' }],
  [['verify']],
  [['verify', '--json', '--strategy', 'parallel']],
  [['verify', '--template', 't.txt', '--output', 'm.sha256', '--entry', 'e.js']],
  [['verify', '--manifest=m.sha256', '--log-format=json']],
  [['verify'], { KEYGATE_STRATEGY: 'sync', KEYGATE_JSON: 'true' }],
  [['check', '--strategy', 'sync']],
  [['pin', '--entry', 'keygate/main.cjs']],
  [['generate-filelist', '--manifest', '/tmp/x.sha256']],
];

const LEFT_TO_YARGS: Array<[string[], Record<string, string>?]> = [
  [[]], // no command word: yargs prints the usage (issue 20), serve is no default
  [['--port=9443', '--log-format', 'json']],
  [['-h']],
  [['--help']],
  [['verify', '--help']],
  [['--version']],
  [['-v']],
  [['verify', '--json', '--json']],
  [['serve', '--port', '9443', '--port', '9444']],
  [['serve', '--port', 'abc']],
  [['serve', '--port', '-1']],
  [['serve', '--port']],
  [['verify', '--strategy', 'fast']],
  [['verify', '--json=false']],
  [['serve', '--no-insecure']],
  [['serve', '--allowExpired']],
  [['verify', 'extra']],
  [['verify', '--', 'x']],
  [['init']],
  [['pki', 'ca', 'create']],
  [['verfy']],
  [['serve'], { KEYGATE_FORCE: '1' }],
  [['serve'], { KEYGATE_NO_SUCH_FLAG: '1' }],
  [['serve'], { KEYGATE_PORT: 'x' }],
  [['verify'], { KEYGATE_PORT: '9443' }],
];

test('gate args: where the gate parser answers, yargs answers the same', async () => {
  for (const [argv, env = {}] of ANSWERED) {
    const gate = parseGateArgs(argv, env, GATE_COMMANDS, GLOBAL_FLAGS);
    assert.ok(gate, `the gate parser should answer ${JSON.stringify(argv)} ${JSON.stringify(env)}`);
    const y = await parseWithYargs(argv, io(env), 'keygate', GATE_COMMANDS);
    assert.equal(y.usageError, undefined, `yargs refused ${argv.join(' ')}: ${String(y.usageError)}`);
    assert.equal(y.chosen?.handler, gate.command.handler, `command of ${argv.join(' ')}`);
    const keys = [...Object.keys(GLOBAL_FLAGS), ...Object.keys(gate.command.flags)];
    assert.deepEqual(gate.args, project(y.parsed, keys), `${argv.join(' ')} ${JSON.stringify(env)}`);
  }
});

test('gate args: help, version, repeats, coercions, other commands and unknown variables are left to yargs', () => {
  for (const [argv, env = {}] of LEFT_TO_YARGS) {
    assert.equal(parseGateArgs(argv, env, GATE_COMMANDS, GLOBAL_FLAGS), undefined, `${JSON.stringify(argv)} ${JSON.stringify(env)}`);
  }
});
