// ANSI SGR colour codes to HTML. Text is always HTML-escaped (ansi_up's default).
import { AnsiUp } from "ansi_up";
import { escapeHtml } from "./format.js";

const au = new AnsiUp();
au.use_classes = true; // colours come from our CSS, so they follow the theme
au.escape_html = true;

const RESET = "\x1b[0m";

/** One line of text as safe HTML; colours never leak from one line into the next. */
export function ansiLine(text) {
  if (text.indexOf("\x1b") < 0) return escapeHtml(text);
  return au.ansi_to_html(text + RESET);
}

/** A multi-line block (a traceback) as safe HTML. */
export function ansiBlock(text) {
  return String(text).split("\n").map(ansiLine).join("\n");
}
