// tabwire on default options against Python's `websockets` library
// (tests/foreign/echo_server.py, an echo; installed into target/python by
// scripts/setup.sh). Why: a server in another language and library, which
// selects no subprotocol and negotiates permessage-deflate with the
// browser, so nothing of the reference server or of Node's `ws` is taken
// for granted.
//
// Checks the same as ws.test.mjs (see suite.mjs).
//
//   bash scripts/setup.sh   # once: Python's websockets into target/python
//   node --test tests/foreign/python-websockets.test.mjs

import { pythonWebsockets } from "./servers.mjs";
import { echoSuite } from "./suite.mjs";

echoSuite(() => pythonWebsockets());
