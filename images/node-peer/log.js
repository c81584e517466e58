'use strict';
/** Timestamped log lines (`time name LEVEL message`), the format every image uses. */

const DEBUG = Boolean(process.env.PEER_DEBUG);

function format(value) {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function makeLogger(name) {
  const write = (level, args) => {
    process.stdout.write(`${new Date().toISOString()} ${name} ${level} ${args.map(format).join(' ')}\n`);
  };
  return {
    debug: (...args) => { if (DEBUG) write('DEBUG', args); },
    info: (...args) => write('INFO', args),
    warn: (...args) => write('WARNING', args),
    error: (...args) => write('ERROR', args),
  };
}

/** A contract output line (PASS:, FAIL:, KEYLOG:, ...) at the start of its own line. */
function contractLine(text) {
  process.stdout.write(`${text}\n`);
}

module.exports = { DEBUG, makeLogger, contractLine };
