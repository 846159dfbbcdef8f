// Pure helpers of the run view's Code and Environment tabs: snapshot manifests and their diff,
// a line diff, a light Python highlighter (escaped HTML), secret-looking values masked.
import { escapeHtml } from '../common/escape';

/** A snapshot manifest: path -> [size, sha256]. */
export type Manifest = Record<string, [number, string]>;

/** The snapshot's files, the entry script first, then by path. */
export function orderFiles(manifest: Manifest, entry: string | null): string[] {
  return Object.keys(manifest).sort((a, b) =>
    a === entry ? -1 : b === entry ? 1 : a.localeCompare(b)
  );
}

/** Each path of two manifests: whether it was added, removed, changed or is the same in `b`. */
export function diffManifests(
  a: Manifest,
  b: Manifest
): { path: string; change: 'added' | 'removed' | 'changed' | 'same' }[] {
  const paths = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return paths.map(path => ({
    path,
    change: !(path in a)
      ? 'added'
      : !(path in b)
        ? 'removed'
        : a[path][1] === b[path][1]
          ? 'same'
          : 'changed'
  }));
}

/** One line of a diff: kept (' '), only in the new text ('+'), only in the old ('-'). */
export interface IDiffLine {
  op: ' ' | '+' | '-';
  text: string;
}

/** Files longer than this (lines) are not diffed line by line. */
export const MAX_DIFF_LINES = 4000;

/** The line diff of `before` → `after` (longest common subsequence); null when too long to diff. */
export function lineDiff(before: string, after: string): IDiffLine[] | null {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length > MAX_DIFF_LINES || b.length > MAX_DIFF_LINES) return null;
  // Common head and tail first: most edits are small.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) {
    tail++;
  }
  const x = a.slice(head, a.length - tail);
  const y = b.slice(head, b.length - tail);
  const n = x.length;
  const m = y.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: IDiffLine[] = a.slice(0, head).map(text => ({ op: ' ', text }));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      out.push({ op: ' ', text: x[i++] });
      j++;
    } else if (i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push({ op: '-', text: x[i++] }); // what went before what came instead
    } else {
      out.push({ op: '+', text: y[j++] });
    }
  }
  for (const text of a.slice(a.length - tail)) out.push({ op: ' ', text });
  return out;
}

const KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except ' +
    'finally for from global if import in is lambda nonlocal not or pass raise return try while ' +
    'with yield match case'
  ).split(' ')
);
const TOKEN =
  /(#.*$)|("""|''')|([rbfuRBFU]{0,2}"(?:[^"\\]|\\.)*"|[rbfuRBFU]{0,2}'(?:[^'\\]|\\.)*')|(\b\d[\d_]*(?:\.\d+)?(?:e[+-]?\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)/g;

/** One line of Python as HTML: keywords, strings, numbers and comments in spans; everything escaped. */
export function highlightPython(line: string): string {
  let out = '';
  let last = 0;
  for (const m of line.matchAll(TOKEN)) {
    const start = m.index ?? 0;
    out += escapeHtml(line.slice(last, start));
    const [text, comment, triple, str, num, word] = m;
    const cls = comment
      ? 'comment'
      : triple || str
        ? 'string'
        : num
          ? 'number'
          : word && KEYWORDS.has(word)
            ? 'keyword'
            : '';
    out += cls ? `<span class="mltrain-hl-${cls}">${escapeHtml(text)}</span>` : escapeHtml(text);
    last = start + text.length;
  }
  return out + escapeHtml(line.slice(last));
}

const SECRET = /(token|secret|passw(or)?d|passwd|api[_-]?key|private[_-]?key|credential|auth)/i;

/** Environment variables with secret-looking names (or values the server masked) shown as `<secret>`. */
export function maskEnv(vars: Record<string, unknown>): [string, string][] {
  return Object.entries(vars)
    .sort((p, q) => p[0].localeCompare(q[0]))
    .map(([k, v]) => [k, SECRET.test(k) ? '<secret>' : String(v)]);
}

/** Packages whose name or version contains every word of `query`. */
export function filterPackages(
  packages: Record<string, string>,
  query: string
): [string, string][] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return Object.entries(packages)
    .filter(([name, version]) => words.every(w => `${name} ${version}`.toLowerCase().includes(w)))
    .sort((p, q) => p[0].localeCompare(q[0]));
}

/** Lines of the generated main.py that come from one notebook cell (the spec's `origin.line_map`). */
export interface ILineSpan {
  /** First and last line of main.py, from 1, inclusive. */
  start: number;
  end: number;
  /** "cell [12]" */
  cell: string;
  executionCount: number | null;
  /** The first line's number in that cell. */
  cellLine: number;
  /** What the lines are: "function helper", "the %%train cell". */
  what: string;
}

/** The line map of a run's origin, checked and by start line (none for a run not made from a cell). */
export function lineSpans(origin: unknown): ILineSpan[] {
  const map =
    origin && typeof origin === 'object' ? (origin as Record<string, unknown>).line_map : null;
  if (!Array.isArray(map)) return [];
  const spans: ILineSpan[] = [];
  for (const m of map) {
    if (!m || typeof m !== 'object') continue;
    const e = m as Record<string, unknown>;
    const start = Number(e.start);
    const end = Number(e.end);
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 1 || end < start) continue;
    const count = typeof e.execution_count === 'number' ? e.execution_count : null;
    spans.push({
      start,
      end,
      cell:
        typeof e.cell === 'string' && e.cell
          ? e.cell
          : count !== null
            ? `cell [${count}]`
            : 'a cell',
      executionCount: count,
      cellLine: Number.isInteger(e.cell_line) ? (e.cell_line as number) : 1,
      what: typeof e.what === 'string' ? e.what : ''
    });
  }
  return spans.sort((a, b) => a.start - b.start);
}

/** The index in `spans` of the span holding `line` (from 1), or -1. */
export function spanAt(spans: readonly ILineSpan[], line: number): number {
  return spans.findIndex(s => s.start <= line && line <= s.end);
}

/** The variables a run's plan set for its ranks: those of every rank, and each rank's own (masked). */
export interface IPlanEnv {
  shared: [string, string][];
  ranks: [string, string][][];
}

function stringMap(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** The variables of a `plan.json` (the supervisor's, secrets already `<secret>`), or null when it has none. */
export function planEnv(plan: unknown): IPlanEnv | null {
  const p = stringMap(plan);
  if (!('env' in p)) return null;
  const ranks = Array.isArray(p.rank_env) ? p.rank_env : [];
  return { shared: maskEnv(stringMap(p.env)), ranks: ranks.map(e => maskEnv(stringMap(e))) };
}
