// The one table layout of npm run bench (scripts/bench.mjs) and of its parts run on their own
// (bench-express.mjs, bench-proxy.mjs): one entry per row, each with its target and whether this run met it, so
// a reader never has to recompute a ratio or look a target up in issue 14. A row without a target is
// information (a ratio kept for comparison with earlier runs) and says so instead of met / not met.
//   entry: { measure, keygate, competitor, ratio, target, met }   met: true | false | undefined (no target)

/** 'met', '**not met**', or '' for a row without a target. */
export const metCell = (met) => (met === undefined ? '' : met ? 'met' : '**not met**');

/** Markdown rows (header included). A `|` inside a cell is escaped so the table keeps its columns. */
export function renderTable(entries) {
  const cell = (s) => String(s ?? '').replace(/\|/g, '\\|');
  return [
    '| measure | keygate | competitor | ratio | target | met? |',
    '|---|---:|---:|---:|---|---|',
    ...entries.map((e) => `| ${[e.measure, e.keygate, e.competitor, e.ratio, e.target ?? '(information)', metCell(e.met)].map(cell).join(' | ')} |`),
  ];
}

/** { met, total } over the rows that have a target. */
export function countMet(entries) {
  const targeted = entries.filter((e) => e.met !== undefined);
  return { met: targeted.filter((e) => e.met).length, total: targeted.length };
}
