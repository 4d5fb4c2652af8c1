// Ctrl-C (and SIGTERM) as a stop request for long commands: the first one prints what will happen
// and sets the flag the command polls (it then stops cleanly, saving what it needs to resume);
// a second one quits at once with 130.

export interface Interrupt {
  /** True once a stop was asked for. */
  stopRequested: () => boolean;
  /** Give the signals back (call in a finally). */
  release: () => void;
}

export function catchInterrupt(message: string): Interrupt {
  let asked = false;
  const onSignal = () => {
    if (asked) process.exit(130); // a second Ctrl-C: stop now
    asked = true;
    process.stderr.write(`\ngeoseg: interrupted; ${message}\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stopRequested: () => asked,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
