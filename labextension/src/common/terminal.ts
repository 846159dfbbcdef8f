// Text as a terminal shows it: a line redrawn with carriage returns (a progress bar)
// shows only its last state. The panel's log, the run view and the widget use the same rule.

/** A line as a terminal shows it after its carriage returns: the last non-empty redraw. */
export function collapseCR(line: string): string {
  if (line.indexOf('\r') < 0) return line;
  const parts = line.split('\r');
  for (let i = parts.length - 1; i >= 0; i--) {
    if (parts[i] !== '') return parts[i];
  }
  return '';
}

/**
 * A block of text (a stderr tail) as a terminal shows it: every line `\r`-collapsed,
 * `\r\n` taken as a plain line end (it redraws nothing), trailing blank lines dropped.
 */
export function collapseRedraws(text: string): string {
  if (text.indexOf('\r') < 0) return text.replace(/\n+$/, '');
  return text.split('\n').map(collapseCR).join('\n').replace(/\n+$/, '');
}
