// Profiling for the comparison benchmark (compare.js): the JS-thread time
// spent in the "message" listeners of WebSockets and BroadcastChannels, and
// in BroadcastChannel.postMessage, of this page and of the follower's frame
// (compare-tab.js calls parent.instrument(window)). The profiling sink of
// compare.js sets profile.appEnter and profile.appExit around the
// application's listener, to split the time around it.

const now = () => performance.now();

/**
 * Sums the time spent in the message listeners registered while `on`, and
 * in BroadcastChannel.postMessage (in the frames instrumented while `on`).
 */
export const profile = { on: false, appEnter: 0, appExit: 0 };
export const resetProfile = () =>
  Object.assign(profile, { socket: { ms: 0, calls: 0, beforeApp: 0, afterApp: 0 }, broadcast: { ms: 0, calls: 0 }, post: { ms: 0, calls: 0 }, send: { ms: 0, calls: 0 } });
resetProfile();

/** Adds the time of `run()` to `profile[key]`. */
export function timed(key, run) {
  const start = now();
  try {
    return run();
  } finally {
    profile[key].ms += now() - start;
    profile[key].calls += 1;
  }
}

/**
 * Wraps the message listeners of `win`'s WebSocket and BroadcastChannel that
 * are registered while profiling, and, if profiling already, its
 * BroadcastChannel.postMessage (this frame and the follower's).
 */
function instrument(win) {
  if (profile.on) instrumentPosts(win);
  for (const [Target, key] of [[win.WebSocket, "socket"], [win.BroadcastChannel, "broadcast"]]) {
    const wrapped = new WeakMap();
    const { addEventListener: add, removeEventListener: remove } = win.EventTarget.prototype;
    Target.prototype.addEventListener = function (type, listener, options) {
      if (!profile.on || type !== "message" || typeof listener !== "function") return add.call(this, type, listener, options);
      const timed = function (event) {
        const start = now();
        profile.appEnter = 0;
        try {
          return listener.call(this, event);
        } finally {
          const end = now();
          const account = profile[key];
          account.ms += end - start;
          account.calls += 1;
          if (profile.appEnter && account.beforeApp !== undefined) {
            account.beforeApp += profile.appEnter - start;
            account.afterApp += end - profile.appExit;
          }
        }
      };
      wrapped.set(listener, timed);
      return add.call(this, type, timed, options);
    };
    Target.prototype.removeEventListener = function (type, listener, options) {
      return remove.call(this, type, wrapped.get(listener) ?? listener, options);
    };
  }
}
window.instrument = instrument;

/** Times every BroadcastChannel.postMessage of `win` from now on. */
export function instrumentPosts(win) {
  const postMessage = win.BroadcastChannel.prototype.postMessage;
  win.BroadcastChannel.prototype.postMessage = function (message) {
    return timed("post", () => postMessage.call(this, message));
  };
}
instrument(window);

export const perMessage = ({ ms, calls }) => (calls ? (ms * 1000) / calls : 0);

/** What the profile counted: µs per frame of each part, and the calls. */
export const profiled = () => ({
  socketListenerUs: perMessage(profile.socket),
  beforeAppUs: perMessage({ ms: profile.socket.beforeApp, calls: profile.socket.calls }),
  afterAppUs: perMessage({ ms: profile.socket.afterApp, calls: profile.socket.calls }),
  socketCalls: profile.socket.calls,
  // Per frame of the socket, not per post: the leader posts the frames of a burst together.
  postMessageUs: perMessage({ ms: profile.post.ms, calls: profile.socket.calls }),
  posts: profile.post.calls,
  broadcastListenerUs: perMessage({ ms: profile.broadcast.ms, calls: profile.socket.calls }),
  broadcastCalls: profile.broadcast.calls,
  sendUs: perMessage(profile.send),
});
