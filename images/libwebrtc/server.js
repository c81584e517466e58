'use strict';
/** libwebrtc echo server: the shared server (node-peer/server.js) with this adapter. */
require('./node-peer/server').main(require('./adapter'));
