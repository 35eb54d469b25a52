//! The options object of `new TabWire(options)`: its TypeScript type, and
//! how it is read from JavaScript (each value checked for its type here,
//! for the rules between values see `resolve`).

use js_sys::Array;
use tsify::Tsify;
use wasm_bindgen::{JsCast, JsValue};

use super::names::TransportName;
use super::option_reader::OptionObject;
use super::options_error::OptionsError;

#[wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section)]
const URL_PROVIDER: &'static str = r#"
/** Called before every connection attempt; may refresh a token. `authFailed` is true after the server closed with an auth failure code (default 4401). */
export type UrlProvider = (context: { attempt: number; authFailed: boolean }) => string | Promise<string>;
/** Called before every connection attempt for a fresh token; `authFailed` is true after the server closed with an auth failure code (default 4401). */
export type TokenProvider = (context: { attempt: number; authFailed: boolean }) => string | Promise<string>;
/** Recognises the answer to a heartbeat ping. */
export type PongMatcher = (data: string | ArrayBuffer) => boolean;
"#;

/// Options of `new TabWire(options)`. Only `url` is required.
#[derive(Tsify)]
#[serde(rename_all = "camelCase")]
pub struct TabWireOptions {
    /// A `ws://` or `wss://` URL, or a function that returns one (or a promise of one) before every attempt.
    #[tsify(type = "string | UrlProvider")]
    pub(super) url: JsValue,
    /// WebSocket subprotocols.
    #[tsify(optional)]
    pub(super) protocols: Option<Protocols>,
    #[tsify(optional)]
    pub(super) reconnect: Option<ReconnectOptions>,
    /// A socket that does not open within this time counts as a failed attempt. Default 10000.
    #[tsify(optional)]
    pub(super) connect_timeout_ms: Option<f64>,
    /// `false` turns the heartbeat off. Default: on tabwire connections a `{"type":"ping"}` every 25 s, dead after 10 s of silence; on raw ones only when `heartbeat.ping` is given (a server that does not speak tabwire would not answer the default one).
    #[tsify(optional, type = "boolean | HeartbeatOptions")]
    pub(super) heartbeat: Option<Heartbeat>,
    #[tsify(optional)]
    pub(super) close_codes: Option<CloseCodeOptions>,
    #[tsify(optional)]
    pub(super) queue: Option<QueueOptions>,
    /// What the server speaks. "auto" (default): tabwire if its first frame is the tabwire hello (acknowledged delivery, channels), raw otherwise; no subprotocol is offered for it. "tabwire": only tabwire (a server that does not greet is an error, retried). "raw": frames pass through from the moment the socket opens.
    #[tsify(optional)]
    pub(super) protocol: Option<ProtocolMode>,
    /// The transports allowed, in the order tried. Default `["websocket", "sse", "polling"]`: the WebSocket, and HTTP where a proxy or firewall breaks it (a stream of server-sent events, or long polls, with the same guarantees); the client falls back by itself and moves back to the WebSocket once it gets through again. Give one to force it. HTTP needs a server that speaks the tabwire protocol over it (the reference server does).
    #[tsify(optional)]
    pub(super) transports: Option<Vec<TransportName>>,
    /// How long an open socket waits for the server's tabwire hello before the connection is taken for raw ("auto") or given up ("tabwire"). Default 1000. Only what was queued before the open waits for it.
    #[tsify(optional)]
    pub(super) hello_timeout_ms: Option<f64>,
    /// Connect at once (default). With `false` the client waits in `idle` until `reconnect()`.
    #[tsify(optional)]
    pub(super) auto_connect: Option<bool>,
    /// Share one connection among this origin's tabs of the same namespace (`queue.key`, else the URL without its query): one tab leads and holds the socket, the others follow. Default true; tabs without Web Locks or BroadcastChannel run solo.
    #[tsify(optional)]
    pub(super) share: Option<bool>,
    /// Credentials for servers that ask for them: a string, or a function called before every connection attempt (`authFailed` is true after a close with an auth failure code). Kept in memory only, never stored.
    #[tsify(optional, type = "string | TokenProvider")]
    pub(super) token: JsValue,
    /// Where the token goes: "frame" (default), an `auth` frame first on every socket (tabwire protocol; it stays out of URLs and logs), or "query", the `token` parameter of the URL.
    #[tsify(optional)]
    pub(super) token_in: Option<TokenIn>,
    /// The field of a JSON frame whose value `onType` routes by. Default "type".
    #[tsify(optional)]
    pub(super) type_field: Option<String>,
}

#[derive(Tsify)]
#[serde(untagged)]
pub(super) enum Protocols {
    One(String),
    Many(Vec<String>),
}

/// `heartbeat`: `true` or `false`, or the timings and frames of one that is on.
pub(super) enum Heartbeat {
    Switch(bool),
    Tuned(HeartbeatOptions),
}

/// Backoff: `delay = min(maxDelayMs, minDelayMs * factor ^ retry)`, spread by `jitter`.
#[derive(Tsify)]
#[serde(rename_all = "camelCase")]
pub struct ReconnectOptions {
    /// Default 500.
    #[tsify(optional)]
    pub(super) min_delay_ms: Option<f64>,
    /// Default 30000.
    #[tsify(optional)]
    pub(super) max_delay_ms: Option<f64>,
    /// Default 2.
    #[tsify(optional)]
    pub(super) factor: Option<f64>,
    /// Default "full".
    #[tsify(optional)]
    pub(super) jitter: Option<JitterMode>,
    /// Retries before giving up. Default `Infinity`.
    #[tsify(optional)]
    pub(super) max_retries: Option<f64>,
    /// The retry counter resets only after a connection stayed open this long. Default 5000.
    #[tsify(optional)]
    pub(super) min_uptime_ms: Option<f64>,
}

/// "full": random in [0, delay]; "equal": delay/2 plus a random half; "none": the delay itself.
#[derive(Tsify, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum JitterMode {
    Full,
    Equal,
    None,
}

/// The heartbeat: a ping after `intervalMs`; no frame at all within `timeoutMs` after it means the socket is dead (`heartbeat: false` turns it off).
#[derive(Tsify)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatOptions {
    /// Time between pings. Default 25000.
    #[tsify(optional)]
    pub(super) interval_ms: Option<f64>,
    /// Silence after a ping that declares the socket dead. Default 10000.
    #[tsify(optional)]
    pub(super) timeout_ms: Option<f64>,
    /// The ping frame of raw connections; giving it turns the heartbeat on for them (tabwire connections always ping with the protocol's `{"type":"ping"}`).
    #[tsify(optional)]
    pub(super) ping: Option<String>,
    /// The pong frame of raw connections (exact text) or a matcher. Default `{"type":"pong"}`.
    #[tsify(optional, type = "string | PongMatcher")]
    pub(super) pong: JsValue,
}

/// Close codes sent by the server: a code or an inclusive `[first, last]` range.
#[derive(Tsify)]
#[serde(rename_all = "camelCase")]
pub struct CloseCodeOptions {
    /// Codes that stop the client. Default `[1008, [4000, 4099]]`.
    #[tsify(optional)]
    pub(super) fatal: Option<Vec<CodeSpec>>,
    /// Codes that make the client ask the URL provider again. Default `[4401]`.
    #[tsify(optional)]
    pub(super) auth_failure: Option<Vec<CodeSpec>>,
}

/// A close code, or an inclusive `[first, last]` range of codes.
#[derive(Tsify)]
#[serde(untagged)]
pub(super) enum CodeSpec {
    Code(f64),
    Range(f64, f64),
}

/// Where the token goes: "frame" (default), an `auth` frame first on every socket; "query", the URL's `token` parameter.
#[derive(Tsify, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum TokenIn {
    Frame,
    Query,
}

/// "auto" (default): tabwire if the server greets with the tabwire hello, raw otherwise; "tabwire": only tabwire; "raw": never.
#[derive(Tsify, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolMode {
    Auto,
    Tabwire,
    Raw,
}

/// The outbox: undelivered messages, kept in order.
#[derive(Tsify)]
#[serde(rename_all = "camelCase")]
pub struct QueueOptions {
    /// "local" (default where localStorage works): one key per message, kept across reloads. "memory": lost with the page.
    #[tsify(optional)]
    pub(super) storage: Option<StorageMode>,
    /// Namespace of the stored messages and of the tabs that share a connection. Default: the URL without its query (tokens); required when `url` is a function (two apps on one origin must not share an outbox).
    #[tsify(optional)]
    pub(super) key: Option<String>,
    /// Undelivered messages kept at most. Default 1000.
    #[tsify(optional)]
    pub(super) max_messages: Option<f64>,
    /// Their total size at most (string length, or bytes). Default 1048576.
    #[tsify(optional)]
    pub(super) max_bytes: Option<f64>,
    /// Messages older than this are dropped with an `expired` event. Default 86400000 (a day: the reference server's dedupe window, so a message is never handled twice); `Infinity`: kept until delivered.
    #[tsify(optional)]
    pub(super) ttl_ms: Option<f64>,
    /// What `send` does when the outbox is full: "refuse" (default) returns a refused receipt, "throw" throws.
    #[tsify(optional)]
    pub(super) when_full: Option<WhenFull>,
}

/// "local" (default): one localStorage key per undelivered message, kept across reloads; "memory": lost with the page.
#[derive(Tsify, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum StorageMode {
    Local,
    Memory,
}

/// What `send()` does when the outbox is full: "refuse" (default) returns a `refused` receipt; "throw" throws. Nothing queued is ever dropped.
#[derive(Tsify, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum WhenFull {
    Refuse,
    Throw,
}

impl TabWireOptions {
    /// Reads the options object handed to the constructor, checking the
    /// type of every value and that every key is an option.
    pub fn from_js(options: &JsValue) -> Result<Self, OptionsError> {
        OptionObject::read_root(options, |object| TabWireOptions {
            url: object.value("url"),
            protocols: read_protocols(object),
            reconnect: object.object("reconnect", ReconnectOptions::read),
            connect_timeout_ms: object.number("connectTimeoutMs"),
            heartbeat: read_heartbeat(object),
            close_codes: object.object("closeCodes", CloseCodeOptions::read),
            queue: object.object("queue", QueueOptions::read),
            protocol: object.choice(
                "protocol",
                &[("auto", ProtocolMode::Auto), ("tabwire", ProtocolMode::Tabwire), ("raw", ProtocolMode::Raw)],
            ),
            hello_timeout_ms: object.number("helloTimeoutMs"),
            transports: read_transports(object),
            auto_connect: object.boolean("autoConnect"),
            share: object.boolean("share"),
            token: object.value("token"),
            token_in: object.choice("tokenIn", &[("frame", TokenIn::Frame), ("query", TokenIn::Query)]),
            type_field: object.string("typeField"),
        })
    }
}

/// A subprotocol, or a list of them.
fn read_protocols(object: &mut OptionObject) -> Option<Protocols> {
    if let Some(protocol) = object.value("protocols").as_string() {
        return Some(Protocols::One(protocol));
    }
    object.array("protocols", "a string or an array of strings", "a string", JsValue::as_string).map(Protocols::Many)
}

/// A list of transport names.
fn read_transports(object: &mut OptionObject) -> Option<Vec<TransportName>> {
    let names = [
        TransportName::Websocket,
        TransportName::Sse,
        TransportName::Polling,
    ];
    let parse = |value: &JsValue| {
        value
            .as_string()
            .and_then(|text| names.into_iter().find(|name| name.name() == text))
    };
    object.array(
        "transports",
        "an array of transports",
        "\"websocket\", \"sse\" or \"polling\"",
        parse,
    )
}

/// `true`, `false` or an object of heartbeat options.
fn read_heartbeat(object: &mut OptionObject) -> Option<Heartbeat> {
    let value = object.value("heartbeat");
    if value.is_undefined() {
        return None;
    }
    match value.as_bool() {
        Some(on) => Some(Heartbeat::Switch(on)),
        None => object.nested("heartbeat", &value, "true, false or an object", HeartbeatOptions::read).map(Heartbeat::Tuned),
    }
}

impl ReconnectOptions {
    fn read(object: &mut OptionObject) -> Self {
        let jitters = [("full", JitterMode::Full), ("equal", JitterMode::Equal), ("none", JitterMode::None)];
        ReconnectOptions {
            min_delay_ms: object.number("minDelayMs"),
            max_delay_ms: object.number("maxDelayMs"),
            factor: object.number("factor"),
            jitter: object.choice("jitter", &jitters),
            max_retries: object.number("maxRetries"),
            min_uptime_ms: object.number("minUptimeMs"),
        }
    }
}

impl HeartbeatOptions {
    fn read(object: &mut OptionObject) -> Self {
        HeartbeatOptions {
            interval_ms: object.number("intervalMs"),
            timeout_ms: object.number("timeoutMs"),
            ping: object.string("ping"),
            pong: object.value("pong"),
        }
    }
}

impl CloseCodeOptions {
    fn read(object: &mut OptionObject) -> Self {
        CloseCodeOptions { fatal: read_codes(object, "fatal"), auth_failure: read_codes(object, "authFailure") }
    }
}

/// A list of close codes and `[first, last]` ranges.
fn read_codes(object: &mut OptionObject, key: &'static str) -> Option<Vec<CodeSpec>> {
    let expected = "an array of close codes and [first, last] ranges";
    object.array(key, expected, "a close code or a [first, last] range", CodeSpec::from_js)
}

impl CodeSpec {
    fn from_js(value: &JsValue) -> Option<CodeSpec> {
        if let Some(code) = value.as_f64() {
            return Some(CodeSpec::Code(code));
        }
        let range = value.dyn_ref::<Array>().filter(|range| range.length() == 2)?;
        Some(CodeSpec::Range(range.get(0).as_f64()?, range.get(1).as_f64()?))
    }
}

impl QueueOptions {
    fn read(object: &mut OptionObject) -> Self {
        QueueOptions {
            storage: object.choice("storage", &[("local", StorageMode::Local), ("memory", StorageMode::Memory)]),
            key: object.string("key"),
            max_messages: object.number("maxMessages"),
            max_bytes: object.number("maxBytes"),
            ttl_ms: object.number("ttlMs"),
            when_full: object.choice("whenFull", &[("refuse", WhenFull::Refuse), ("throw", WhenFull::Throw)]),
        }
    }
}
