'use strict';
/** libwebrtc client: the shared client (node-peer/client.js) with this adapter. */
require('./node-peer/client').main(require('./adapter'));
