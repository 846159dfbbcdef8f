// ANSI escape sequences (colours, bold) of log lines as safe HTML.
import { AnsiUp } from 'ansi_up';

const converter = new AnsiUp();
converter.escape_html = true;
// Inline colours: 256-colour and truecolor sequences render too, with no stylesheet to keep in sync.
converter.use_classes = false;

const RESET = '\x1b[0m';
const ESC_RE = /[&<>"']/g;
const ESC_MAP: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#x27;'
};

/** Text made safe for innerHTML. */
export function escapeHtml(s: string): string {
  return s.replace(ESC_RE, c => ESC_MAP[c]);
}

/** One line as safe HTML; colours never leak from one line into the next. */
export function ansiToHtml(line: string): string {
  if (line.indexOf('\x1b') < 0) return escapeHtml(line);
  return converter.ansi_to_html(line + RESET);
}

// CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), and two-character escapes.
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/** A line without its escape sequences (for search and copy). */
export function stripAnsi(line: string): string {
  return line.indexOf('\x1b') < 0 ? line : line.replace(ANSI_RE, '');
}
