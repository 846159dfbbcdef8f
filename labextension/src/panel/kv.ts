// K=V lines of the train form (params, environment variables).

/** Parsed K=V lines: the values, and an error per bad line. */
export interface IParsedKV {
  values: Record<string, string>;
  /** "line 3: ..." for each line that is not K=V. */
  errors: string[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parse `K=V` lines: blank lines and `#` comments are skipped, whitespace around K
 * and V is trimmed, V is kept as typed (the server reads it like `--param K=V`).
 * A key must be an identifier; a repeated key keeps the last value.
 */
export function parseKeyValues(text: string): IParsedKV {
  const values: Record<string, string> = {};
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq < 0) {
      errors.push(`line ${i + 1}: "${line}" is not K=V`);
      return;
    }
    const key = line.slice(0, eq).trim();
    if (!IDENT.test(key)) {
      errors.push(`line ${i + 1}: "${key}" is not a valid name (letters, digits, _)`);
      return;
    }
    values[key] = line.slice(eq + 1).trim();
  });
  return { values, errors };
}

/** K=V lines from an object (the inverse of parseKeyValues for a rerun form). */
export function formatKeyValues(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('\n');
}
