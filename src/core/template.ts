// Filelist template parsing: lines → include/exclude patterns. Pure: no fs, no process.
// Syntax (docs/template.md): seed 000's lines work unchanged (`.\x`, `\` separators, globs, a bare folder
// means everything under it, absolute paths), plus `#` comments, blank lines, `!exclude`, `? optional`,
// `${NODE}` and `${ENV_NAME}` variables.

import { KeygateError } from '../errors.js';
import { HOST_PATH_STYLE, type PathStyle } from './path-style.js';

export interface TemplateLine {
  /** 1-based line number in the template, for error messages. */
  readonly line: number;
  /** The line as written (trimmed), for reports. */
  readonly source: string;
  /** Pattern with variables substituted and separators normalised to `/`; relative or absolute. */
  readonly pattern: string;
  readonly absolute: boolean;
  readonly exclude: boolean;
  readonly optional: boolean;
  /** True when the pattern holds glob syntax; false for a literal file or folder path. */
  readonly glob: boolean;
}

export interface TemplateVariables {
  /** The node executable that runs keygate (`${NODE}`). */
  readonly node: string;
  /** The backend's program (`${BACKEND}`): server.backend.command[0], resolved. */
  readonly backend?: string;
  /** The vault client (`${VAULT_CLIENT}`): the program that receives the password. */
  readonly vaultClient?: string;
  /** Environment for `${NAME}`. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Most lines a template may have; a larger one is almost surely not a template. */
export const MAX_TEMPLATE_LINES = 100_000;
const MAX_LINE_LENGTH = 4096;

const GLOB_CHARS = /[*?[\]{}]/;

/** Parses a template's text; throws TEMPLATE_INVALID naming the line for anything malformed. */
export function parseTemplate(text: string, vars: TemplateVariables, templateName = 'filelist.template', style: PathStyle = HOST_PATH_STYLE): TemplateLine[] {
  if (text.includes('\0')) {
    const line = text.slice(0, text.indexOf('\0')).split('\n').length;
    throw invalid(templateName, line, 'contains a NUL byte (is this a binary file?)');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // UTF-8 BOM from Windows editors
  const rows = text.split('\n');
  if (rows.length > MAX_TEMPLATE_LINES) {
    throw new KeygateError('TEMPLATE_INVALID', `failed to read ${templateName}: ${rows.length} lines, more than the ${MAX_TEMPLATE_LINES} allowed`, {
      hint: 'list folders instead of single files: a folder line covers everything under it',
    });
  }
  const out: TemplateLine[] = [];
  rows.forEach((raw, i) => {
    const parsed = parseLine(raw, i + 1, vars, templateName, style);
    if (parsed) out.push(parsed);
  });
  return out;
}

function parseLine(raw: string, line: number, vars: TemplateVariables, templateName: string, style: PathStyle): TemplateLine | undefined {
  if (raw.length > MAX_LINE_LENGTH) throw invalid(templateName, line, `is ${raw.length} characters long (limit ${MAX_LINE_LENGTH})`);
  let s = raw.trim();
  if (s === '' || s.startsWith('#')) return undefined;
  if (s.includes('\uFFFD') || /[\x01-\x08\x0e-\x1f\x7f]/.test(s)) throw invalid(templateName, line, 'holds control characters or invalid UTF-8');
  const source = s;
  let exclude = false;
  let optional = false;
  if (s.startsWith('!')) {
    exclude = true;
    s = s.slice(1).trim();
  } else if (/^\?\s/.test(s)) {
    optional = true;
    s = s.slice(1).trim();
  }
  if (s === '') throw invalid(templateName, line, 'has a marker but no path');

  s = substitute(s, vars, templateName, line);
  s = s.replace(/\\/g, '/');
  const absolute = s.startsWith('/') || /^[A-Za-z]:\//.test(s);
  // Windows: `C:x` is relative to that drive's current folder, which a service does not control; `c:` and `C:`
  // are one drive (upper case, as Node's resolve gives it); `\\server\share` keeps its leading pair.
  const unc = style === 'win32' && s.startsWith('//');
  if (style === 'win32' && /^[A-Za-z]:(?!\/)/.test(s)) {
    throw invalid(templateName, line, `names drive ${s.slice(0, 2)} without a folder after it (relative to that drive's current folder)`, `write ${s.slice(0, 2)}\\${s.slice(2)}`);
  }
  if (style === 'win32' && /^[a-z]:/.test(s)) s = s[0]!.toUpperCase() + s.slice(1);
  // `.\x` and `./x` mean x; collapse `a//b` to `a/b`; drop a trailing `/` (a folder is a folder either way).
  while (s.startsWith('./')) s = s.slice(2);
  s = s.replace(/\/{2,}/g, '/');
  if (unc) s = `/${s}`;
  if (s.length > 1 && s.endsWith('/')) s = s.slice(0, -1);
  if (s === '' || s === '.') s = '.';

  const segments = s.split('/');
  if (!absolute && segments.includes('..')) {
    throw invalid(templateName, line, "uses '..' to leave the template's folder", 'write the path as an absolute path instead');
  }
  if (segments.some((seg, i) => seg === '..' && i > 0 && absolute)) {
    throw invalid(templateName, line, "uses '..' inside an absolute path", 'write the path without ..');
  }
  const glob = GLOB_CHARS.test(s);
  if (glob) checkBrackets(s, templateName, line);
  return { line, source, pattern: s, absolute, exclude, optional, glob };
}

function substitute(s: string, vars: TemplateVariables, templateName: string, line: number): string {
  if (/\$\{[^}]*$/.test(s)) throw invalid(templateName, line, 'has an unterminated ${');
  return s.replace(/\$\{([^}]*)\}/g, (_m, name: string) => {
    if (name === 'NODE') return vars.node;
    if (name === 'BACKEND') {
      if (vars.backend) return vars.backend;
      throw invalid(templateName, line, 'uses ${BACKEND}, but keygate.config.json names no server.backend.command', 'set server.backend.command, or remove the line');
    }
    if (name === 'VAULT_CLIENT') {
      if (vars.vaultClient) return vars.vaultClient;
      // unset is the usual case (a shell or unit without the export), so say so rather than "not absolute"
      const home = vars.env['CSPM_CLIENT_HOME'];
      if (!home) {
        throw invalid(
          templateName,
          line,
          'uses ${VAULT_CLIENT}, but CSPM_CLIENT_HOME is unset (and keygate.config.json sets no vault.clientPath)',
          "export CSPM_CLIENT_HOME=<PAM's A2A client folder, e.g. /opt/CA/cspm> where keygate runs, or set vault.clientPath",
        );
      }
      throw invalid(templateName, line, `uses \${VAULT_CLIENT}, but CSPM_CLIENT_HOME (${home}) is not an absolute path`, "export CSPM_CLIENT_HOME=<PAM's A2A client folder, as an absolute path>, or set vault.clientPath");
    }
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw invalid(templateName, line, `has a malformed variable \${${name}}`);
    const value = vars.env[name];
    if (value === undefined || value === '') {
      throw invalid(templateName, line, `uses \${${name}}, which is not set in the environment`, `export ${name}=... before running, or remove the line`);
    }
    return value;
  });
}

function checkBrackets(s: string, templateName: string, line: number): void {
  let square = 0;
  let curly = 0;
  for (const ch of s) {
    if (ch === '[') square++;
    else if (ch === ']') square = Math.max(0, square - 1);
    else if (ch === '{') curly++;
    else if (ch === '}') curly = Math.max(0, curly - 1);
  }
  if (square > 0) throw invalid(templateName, line, "has an unmatched '[' in its glob", "close the bracket, or match the character with '?'");
  if (curly > 0) throw invalid(templateName, line, "has an unmatched '{' in its glob", "close the brace, or match the character with '?'");
}

function invalid(templateName: string, line: number, what: string, hint?: string): KeygateError {
  return new KeygateError('TEMPLATE_INVALID', `failed to read ${templateName}: line ${line} ${what}`, {
    hint: hint ?? `fix line ${line} of ${templateName} (syntax: docs/template.md)`,
    details: { line },
  });
}

/** A symlinked folder met inside a listed folder (adapters/symlinked-folders.ts finds them). */
export interface SymlinkedFolder {
  /** The link, as the walk found it. */
  readonly link: string;
  /** What it resolves to (realpath). */
  readonly target: string;
}

/**
 * The template lines that make a tree holding symlinked folders expand (docs/template.md#symlinks): each link
 * excluded, then its target listed. init --python writes them; SYMLINK_REFUSED's fix prints them.
 */
export function symlinkLines(found: readonly SymlinkedFolder[]): string[] {
  return found.flatMap((f) => [`!${f.link}`, f.target]);
}
