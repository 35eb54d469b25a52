// tabwire on default options against Node's `ws` with NO options
// (`new WebSocketServer({ host, port })`, an echo). Why: `ws` is the most
// common Node WebSocket server, and it selects the first subprotocol a
// client offers without speaking it; the client used to offer `tabwire.v1`
// and took `ws`'s selection for the tabwire protocol. Now it offers none
// and waits for a tabwire hello that never comes, so the connection is raw.
//
// Checks (see suite.mjs): text, JSON and binary echo as raw frames (no
// envelope, no ping, no subprotocol offered, `open` says "raw"); sends
// while the server is down delivered in order once it is back; a reload
// while down resending the old page's messages first, once; a follower
// tab's sends through the leader's socket; garbage in the outbox's storage
// skipped with warnings; a full localStorage (storage_failed, still
// delivered).
//
//   node --test tests/foreign/ws.test.mjs

import { nodeWs } from "./servers.mjs";
import { echoSuite } from "./suite.mjs";

echoSuite(() => nodeWs());
