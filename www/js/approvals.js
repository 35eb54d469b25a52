// The approval queue of desk 1: requests from `approvals:desk-1`, decided
// here with a publication through the durable outbox. A row tells what
// became of its decision: queued (the connection is down), sent, then
// acknowledged by the server. Decisions come back through the channel, to
// every tab, and take their request off the queue.

import { follow } from "./channels.js";
import { log } from "./log.js";
import { $, clone, fill, money, stamp } from "./ui.js";

const CHANNEL = "approvals:desk-1";
/** How long a request decided live stays in view, with its outcome. */
const LINGER_MS = 2500;
const LABELS = { approved: "Approved", rejected: "Rejected" };

export function startApprovals(ws, tabName) {
  const body = $("approvals");
  /** Request id → {row, receipt?, acknowledged, decision?}, for the requests on screen. */
  const requests = new Map();
  /** Receipt id → {request, decision, status}, for the decisions of this tab not yet acknowledged. */
  const receipts = new Map();
  /** Request id → "approved" | "rejected", for every decision seen. */
  const decided = new Map();
  // Decisions left in the outbox before a reload are still on their way:
  // their requests must not be offered for a decision again.
  for (const { id, data, inFlight } of ws.outbox()) {
    const publication = parsed(data);
    if (publication?.channel === CHANNEL && publication.data?.type === "decision") {
      receipts.set(id, { request: publication.data.id, decision: publication.data.decision, status: inFlight ? "sent" : "queued" });
    }
  }

  function add(request) {
    if (requests.has(request.id)) return;
    const row = clone("approval-row");
    row.dataset.id = request.id;
    row.dataset.kind = request.kind;
    fill(row, {
      ".req-id": request.id,
      ".req-kind": request.kind,
      ".req-investor": request.investor,
      ".req-fund": request.fund,
      ".req-amount": money(request.amount, request.currency),
    });
    stamp(row.querySelector(".req-time"), request.at);
    for (const button of row.querySelectorAll("button")) {
      button.setAttribute("aria-label", `${button.textContent} ${request.id}`);
    }
    body.prepend(row);
    requests.set(request.id, { row, receipt: null, acknowledged: false, decision: null });
    for (const [receipt, pending] of receipts) {
      if (pending.request === request.id) show(request.id, receipt, pending.decision, pending.status);
    }
    count();
  }

  /** Marks a request as decided by this tab, with the receipt of its publication. */
  function show(id, receipt, decision, status) {
    const entry = requests.get(id);
    entry.receipt = receipt;
    receipts.set(receipt, { request: id, decision, status });
    setStatus(entry, status, `${LABELS[decision]} · ${status}`);
  }

  function setStatus(entry, status, label) {
    entry.row.querySelector(".decide").hidden = true;
    const badge = entry.row.querySelector(".status");
    badge.hidden = false;
    badge.dataset.status = status;
    badge.textContent = label;
    entry.row.dataset.status = status;
  }

  function decide(id, decision) {
    const receipt = ws.publish(CHANNEL, { type: "decision", id, decision, by: tabName });
    if (receipt.status === "refused") {
      log("bad", `${id}: decision refused, ${receipt.message}`);
      return;
    }
    log("info", `${id} ${decision}: ${receipt.status} (${receipt.id})`);
    show(id, receipt.id, decision, receipt.status);
  }

  function acknowledged(receipt) {
    const pending = receipts.get(receipt);
    receipts.delete(receipt);
    const entry = pending && requests.get(pending.request);
    if (!entry) return;
    entry.acknowledged = true;
    setStatus(entry, "acknowledged", `${LABELS[pending.decision]} · acknowledged`);
    settle(pending.request, true);
  }

  function onDecision(decision, live) {
    if (decided.has(decision.id)) return;
    decided.set(decision.id, decision.decision);
    const entry = requests.get(decision.id);
    if (entry) {
      entry.decision = decision;
      if (!entry.receipt) setStatus(entry, "decided", `${LABELS[decision.decision]} by ${decision.by}`);
      settle(decision.id, live || entry.receipt !== null);
    }
    count();
  }

  /**
   * Takes a request off the queue once decided and, if this tab decided it,
   * acknowledged; after a while if `linger`, for the outcome to be seen.
   */
  function settle(id, linger) {
    const entry = requests.get(id);
    if (!entry.decision || (entry.receipt && !entry.acknowledged)) return;
    const remove = () => {
      entry.row.remove();
      requests.delete(id);
      count();
    };
    if (linger) setTimeout(remove, LINGER_MS);
    else remove();
  }

  function count() {
    const pending = [...requests.values()].filter((entry) => !entry.decision).length;
    $("approvals-count").textContent = `${pending} pending`;
    $("approvals-empty").hidden = requests.size > 0;
    const approved = [...decided.values()].filter((outcome) => outcome === "approved").length;
    $("approvals-summary").textContent = `${approved} approved · ${decided.size - approved} rejected`;
  }

  body.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-decision]");
    if (button) decide(button.closest("tr").dataset.id, button.dataset.decision);
  });
  ws.on("ack", ({ id }) => acknowledged(id));
  follow(ws, CHANNEL, (message, { live }) => {
    if (message.type === "request") add(message);
    else if (message.type === "decision") onDecision(message, live);
  });
  count();
}

/** An outbox entry's data as JSON (a publication is `{channel, data}`), or null. */
function parsed(data) {
  try {
    return typeof data === "string" ? JSON.parse(data) : null;
  } catch {
    return null;
  }
}
