'use strict';
/** werift client: the shared client (node-peer/client.js) with werift's adapter. */
require('./node-peer/client').main(require('./adapter'));
