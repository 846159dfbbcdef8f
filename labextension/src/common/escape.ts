// HTML escaping for text put into innerHTML.

const ESC_RE = /[&<>"']/g;
const ESC_MAP: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#x27;'
};

/** Text made safe for innerHTML. */
export function escapeHtml(s: unknown): string {
  return String(s).replace(ESC_RE, c => ESC_MAP[c]);
}
