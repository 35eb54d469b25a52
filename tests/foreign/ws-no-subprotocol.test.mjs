// tabwire on default options against Node's `ws` with
// `handleProtocols: () => false`: a server that never selects a
// subprotocol. Why: the client used to offer `tabwire.v1`, and a browser
// fails the handshake when a server selects none of the offered ones, so
// tabwire could not connect to such a server at all. With no subprotocol
// offered the handshake succeeds and the connection is raw.
//
// Checks the same as ws.test.mjs (see suite.mjs).
//
//   node --test tests/foreign/ws-no-subprotocol.test.mjs

import { nodeWs } from "./servers.mjs";
import { echoSuite } from "./suite.mjs";

echoSuite(() => nodeWs({ handleProtocols: () => false }));
