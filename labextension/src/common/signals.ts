// POSIX signal names, for exit statuses ("killed by SIGKILL (9)").

const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  10: 'SIGUSR1',
  11: 'SIGSEGV',
  12: 'SIGUSR2',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM'
};

/** "SIGKILL (9)" for a signal number; "signal 42" for one without a name here. */
export function signalName(n: number): string {
  return SIGNALS[n] ? `${SIGNALS[n]} (${n})` : `signal ${n}`;
}
