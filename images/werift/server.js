'use strict';
/** werift echo server: the shared server (node-peer/server.js) with werift's adapter. */
require('./node-peer/server').main(require('./adapter'));
