'use strict';
/**
 * The contract's client for any stack adapter: `client.js <server offer URL>`, the
 * test case from $TEST_CASE. Exit 0 only when the test's condition was observed, 1 on
 * failure or the client's own timeout (80 % of TEST_TIMEOUT), 127 for a test case this
 * stack (or this server) cannot do. Prints the contract lines, the verdict last.
 */

const {
  EXIT_FAILED, EXIT_PASSED, EXIT_UNSUPPORTED, TestFailed, Unsupported, clientBudgetMs,
} = require('./contract');
const { ClientContext } = require('./client-kit');
const { contractLine, makeLogger } = require('./log');

const TESTS = {
  ...require('./tests-datachannel').tests,
  ...require('./tests-bulk').tests,
  ...require('./tests-media').tests,
  ...require('./tests-session').tests,
};

const LOG_FLUSH_MS = 200;
const CLOSE_WAIT_MS = 1000;

/** Why this stack cannot run `test` at all (from the adapter's capabilities), or null. */
function unsupportedReason(adapter, test) {
  const caps = adapter.capabilities;
  const needs = {
    trickle: [caps.trickle],
    'ice-restart': [caps.iceRestart],
    renegotiation: [caps.renegotiation, caps.media.audio],
    audio: [caps.media.audio],
    video: [caps.media.video],
    'bundle-av-data': [caps.media.audio, caps.media.video],
  }[test] || [];
  const missing = needs.find((support) => support !== true);
  return missing === undefined ? null : `${adapter.name}: ${missing}`;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs the test against the budget; returns [exit code, verdict line]. */
async function judge(ctx, budgetMs) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const where = ctx.peers.length ? ctx.peers[ctx.peers.length - 1].transportSummary() : 'no peer connection yet';
      const progress = ctx.progress ? `; ${ctx.progress()}` : '';
      reject(new TestFailed(`no result within ${Math.round(process.uptime())}s (${where}${progress})`));
    }, budgetMs);
  });
  try {
    const detail = await Promise.race([TESTS[ctx.test](ctx), timeout]);
    return [EXIT_PASSED, `PASS: ${ctx.test}: ${detail}`];
  } catch (error) {
    if (error instanceof Unsupported) return [EXIT_UNSUPPORTED, `UNSUPPORTED: ${ctx.test}: ${error.message}`];
    if (!(error instanceof TestFailed)) ctx.log.error(error.stack || String(error));
    // A stack's own log may reach us asynchronously: let it arrive, then name it.
    await sleep(LOG_FLUSH_MS);
    const errors = ctx.peers.map((p) => p.libraryErrors()).filter(Boolean).join('; ');
    const detail = errors && !error.message.includes(errors) ? ` (${ctx.adapter.name}: ${errors})` : '';
    return [EXIT_FAILED, `FAIL: ${ctx.test}: ${error.message}${detail}`];
  } finally {
    clearTimeout(timer);
  }
}

async function runClient(adapter) {
  const log = makeLogger('client');
  if (process.argv.length !== 3) {
    console.error('usage: client.js <server offer URL>');
    return EXIT_FAILED;
  }
  const ctx = new ClientContext(adapter, process.argv[2], log);
  if (!Object.prototype.hasOwnProperty.call(TESTS, ctx.test)) {
    contractLine(`UNSUPPORTED: test case '${ctx.test}' is unknown (known: ${Object.keys(TESTS).join(', ')})`);
    return EXIT_UNSUPPORTED;
  }
  const reason = unsupportedReason(adapter, ctx.test);
  if (reason) {
    contractLine(`UNSUPPORTED: ${ctx.test}: ${reason}`);
    return EXIT_UNSUPPORTED;
  }
  log.info(`${adapter.describe()}, node ${process.versions.node}, test ${ctx.test}, ` +
    `payload ${ctx.payload.length} bytes${ctx.payloadGiven ? '' : ' (made up: no TEST_PAYLOAD)'}, ` +
    `loaded in ${process.uptime().toFixed(1)}s`);
  const [code, verdict] = await judge(ctx, clientBudgetMs());
  for (const line of ctx.lines.values()) contractLine(line);
  await Promise.race([Promise.all(ctx.peers.map(async (p) => p.close())).catch(() => {}), sleep(CLOSE_WAIT_MS)]);
  contractLine(verdict);
  return code;
}

/** The client's main: exits with the verdict's code, whatever the stack does after. */
function main(adapter) {
  // Stacks reject internal promises after close; they must not replace the verdict.
  process.on('unhandledRejection', (error) => {
    if (process.env.PEER_DEBUG) console.log(`unhandled rejection: ${error && error.stack ? error.stack : error}`);
  });
  runClient(adapter).then(
    (code) => process.exit(code),
    (error) => {
      contractLine(`FAIL: ${process.env.TEST_CASE || 'datachannel'}: error: ${error.stack || error}`);
      process.exit(EXIT_FAILED);
    },
  );
}

module.exports = { main, TESTS };
