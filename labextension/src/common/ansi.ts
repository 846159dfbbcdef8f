// ANSI escape sequences (colours, bold) of log lines as safe HTML: one rendering for
// the widget and the panel. Colours of the 16 basic colours are classes (style/ansi.css
// gives them theme-aware values); 256-colour and truecolor ones are inline, as ansi_up does.
import { AnsiUp } from 'ansi_up';
import { escapeHtml } from './escape';

const converter = new AnsiUp();
converter.escape_html = true;
converter.use_classes = true;

const RESET = '\x1b[0m';

/** One line as safe HTML; colours never leak from one line into the next. */
export function ansiToHtml(line: string): string {
  if (line.indexOf('\x1b') < 0) return escapeHtml(line);
  return converter.ansi_to_html(line + RESET);
}

/** A multi-line block (a traceback) as safe HTML, line by line. */
export function ansiBlockToHtml(text: string): string {
  return text.split('\n').map(ansiToHtml).join('\n');
}

// CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), and two-character escapes.
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/** A line without its escape sequences (for search and copy). */
export function stripAnsi(line: string): string {
  return line.indexOf('\x1b') < 0 ? line : line.replace(ANSI_RE, '');
}
