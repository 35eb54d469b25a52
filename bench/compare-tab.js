// A tab of the comparison benchmark (bench/compare.js) in a same-origin
// iframe: a TabWire client with the options of the query, as window.tw.
// The parent page attaches its listeners and times everything on its clock.

import init, { TabWire } from "/pkg/tabwire.js";

// Lets the parent time this frame's message listeners when it profiles.
parent.instrument?.(window);
await init();
window.tw = new TabWire(JSON.parse(new URLSearchParams(location.search).get("options")));
