// npm run parts -- list [--entry <file>]          the parts of a built entry: name, size, sha256, manifest match
// npm run parts -- extract <dir> [--entry <file>]  each part as a readable .js file (and the early part as main.js)
// npm run parts -- check [--entry <file>]          exit 1 unless every part is the one dist/parts.json records
// --manifest <file> names the parts.json to compare with: by default the one beside the entry, else the one of
// the build this script came with (a deployed keygate/main.cjs has none beside it). Installed from npm:
// node node_modules/keygate/scripts/parts.mjs check --entry keygate/main.cjs
//
// A built entry (dist/main.js, the file PAM hashes) carries its late parts brotli-compressed in one comment at its
// end (scripts/build.mjs explains why). This reads them the way src/late-runtime.ts does, from the entry's own
// bytes, so an auditor reads exactly the code that the entry would run, and compares each with the parts
// manifest the build wrote beside it (dist/parts.json: sha256 of each part's JavaScript and what it came from).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { PARTS_CLOSE as CLOSE, PARTS_OPEN as OPEN, earlySha256, textSha256 } from './entry-format.mjs';
import { brotliDecompressSync } from 'node:zlib';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';


function usage(message) {
  process.stderr.write(`parts: ${message}\n  usage: npm run parts -- list|check [--entry dist/main.js] [--manifest dist/parts.json] | extract <dir> [--entry …] [--manifest …]\n`);
  process.exit(2);
}

/** The entry's early part (everything before the comment) and its parts, decompressed. */
function readEntry(file) {
  const bytes = readFileSync(file);
  const text = bytes.toString('utf8');
  const at = text.lastIndexOf(OPEN);
  if (at < 0 || !text.endsWith(CLOSE)) usage(`${file} holds no parts comment: is it a keygate entry built by scripts/build.mjs?`);
  // The early part by bytes, its pin slot zeroed, as the build hashed it.
  const earlyHash = earlySha256(bytes.subarray(0, bytes.lastIndexOf(Buffer.from(OPEN)) + 1));
  const parts = text
    .slice(at + OPEN.length, text.length - CLOSE.length)
    .split('\n')
    .map((line) => {
      const colon = line.indexOf(':');
      return { name: line.slice(0, colon), code: brotliDecompressSync(Buffer.from(line.slice(colon + 1), 'base64')).toString('utf8') };
    });
  return { early: text.slice(0, at + 1), earlyHash, parts };
}


process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0); // a reader that stopped early (| head)
  throw err;
});
const args = process.argv.slice(2);
/** Takes `--name <value>` out of args; undefined when absent. */
function option(name) {
  const at = args.indexOf(name);
  return at < 0 ? undefined : (args.splice(at, 2)[1] ?? usage(`${name} needs a file`));
}
const entry = resolve(option('--entry') ?? 'dist/main.js');
const manifestOption = option('--manifest');
const [command, dir] = args;
if (!existsSync(entry)) usage(`${entry} does not exist: npm run build`);
const { early, earlyHash, parts } = readEntry(entry);
const beside = join(dirname(entry), 'parts.json');
const ours = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'parts.json');
const manifestFile = manifestOption ? resolve(manifestOption) : existsSync(beside) ? beside : ours;
if (manifestOption && !existsSync(manifestFile)) usage(`${manifestFile} does not exist`);
const manifest = existsSync(manifestFile) ? JSON.parse(readFileSync(manifestFile, 'utf8')) : undefined;
const recorded = manifest ? new Map(manifest.parts.map((p) => [p.name, p])) : undefined;
// The early part runs first and finds the parts: an entry whose parts match but whose early code differs is not
// the one the build recorded. An entry is held to the record of its own name when the build wrote one
// (generate-filelist.js), else to main.js's: a deployed entry is dist/main.js renamed (keygate/main.cjs).
const recordName = manifest && Object.hasOwn(manifest.early ?? {}, basename(entry)) ? basename(entry) : 'main.js';
const earlyAs = manifest?.early?.[recordName] === earlyHash ? recordName : undefined;
const earlyVerdict = !manifest ? 'no parts.json found' : earlyAs ? `as recorded (dist/${earlyAs})` : `DIFFERS from parts.json (dist/${recordName})`;
const shownPath = (file) => (file.startsWith(`${process.cwd()}/`) ? relative(process.cwd(), file) : file);
const shown = shownPath(manifestFile);
const shownEntry = shownPath(entry);
const verdict = (p) => {
  if (!recorded) return 'no parts.json found';
  const r = recorded.get(p.name);
  return !r ? 'NOT IN parts.json' : r.sha256 === textSha256(p.code) ? 'as recorded' : 'DIFFERS from parts.json';
};

if (command === 'list') {
  process.stdout.write(`${shownEntry}: early part ${Buffer.byteLength(early)} bytes (plain JavaScript), sha256 ${earlyHash} (pin slot zeroed)  ${earlyVerdict}; ${parts.length} parts${manifest ? `; compared with ${shown}` : ''}\n`);
  for (const p of parts) process.stdout.write(`${p.name.padEnd(22)} ${String(Buffer.byteLength(p.code)).padStart(8)} bytes  sha256 ${textSha256(p.code)}  ${verdict(p)}\n`);
} else if (command === 'extract') {
  if (!dir) usage('extract needs a folder');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'main.js'), early);
  for (const p of parts) {
    mkdirSync(dirname(join(dir, `${p.name}.js`)), { recursive: true });
    writeFileSync(join(dir, `${p.name}.js`), p.code);
  }
  if (existsSync(manifestFile)) writeFileSync(join(dir, 'parts.json'), readFileSync(manifestFile));
  process.stdout.write(`${dir}: main.js and ${parts.length} parts (${parts.map((p) => `${p.name}.js`).join(', ')})${recorded ? ', parts.json' : ''}\n`);
} else if (command === 'check') {
  if (!recorded) usage(`no parts.json beside ${entry} or in ${dirname(ours)}: npm run build writes it, or pass --manifest <file>`);
  const bad = parts.filter((p) => verdict(p) !== 'as recorded').map((p) => `${p.name}: ${verdict(p)}`);
  const missing = [...recorded.keys()].filter((n) => !parts.some((p) => p.name === n)).map((n) => `${n}: in parts.json, not in the entry`);
  if (!earlyAs) bad.unshift(`the early part: ${earlyVerdict}`);
  for (const line of [...bad, ...missing]) process.stderr.write(`parts: ${line}\n`);
  if (bad.length || missing.length) process.exit(1);
  process.stdout.write(`${shownEntry}: the early part (as dist/${earlyAs}) and all ${parts.length} parts are the ones ${shown} records\n`);
} else {
  usage(command ? `unknown command ${command}` : 'no command');
}
