// Channel subscriptions from the start of the server's history.

/**
 * Subscribes to `channel` from the oldest message the server keeps
 * (`since: 0`) and calls `listener(data, {offset, live})`. `live` is false
 * for the messages the server replays when it takes the subscription (the
 * history on the first connection, what was missed after a reconnect): the
 * `subscribed` event gives the newest offset at that moment.
 */
export function follow(ws, channel, listener) {
  let replayedUpTo = 0;
  ws.on("subscribed", (event) => {
    if (event.channel === channel) replayedUpTo = event.offset;
  });
  ws.subscribe(channel, ({ data, offset }) => listener(data, { offset, live: offset > replayedUpTo }), { since: 0 });
}
