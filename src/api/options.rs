//! The options object of `new TabWire(options)`: its TypeScript type, and
//! its translation into the core configuration and the wire configuration.

use std::fmt;

use js_sys::{Array, Function};
use serde::Deserialize;
use tsify::Tsify;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::close_codes::{CloseCodePolicy, CodeRange};
use crate::core::config::{
    check_code_range, check_count, check_duration, check_factor, check_positive_duration, check_protocols, url_problem,
};
use crate::core::{Config, ConfigError, HeartbeatConfig, Jitter, QueueConfig, ReconnectConfig, ShareConfig, UrlSource};
use crate::web::protocol::SUBPROTOCOL;
use crate::web::wire::with_token;
use crate::web::{PongMatcher, TokenPlace, TokenSource, WireConfig};

use super::option_keys::{fields_of, unknown_key};

/// The default heartbeat ping frame and the pong it expects.
const DEFAULT_PING: &str = r#"{"type":"ping"}"#;
const DEFAULT_PONG: &str = r#"{"type":"pong"}"#;

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
#[derive(Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct TabWireOptions {
    /// A `ws://` or `wss://` URL, or a function that returns one (or a promise of one) before every attempt.
    #[tsify(type = "string | UrlProvider")]
    #[serde(with = "serde_wasm_bindgen::preserve")]
    url: JsValue,
    /// WebSocket subprotocols.
    #[tsify(optional)]
    protocols: Option<Protocols>,
    #[tsify(optional)]
    reconnect: Option<ReconnectOptions>,
    /// A socket that does not open within this time counts as a failed attempt. Default 10000.
    #[tsify(optional)]
    connect_timeout_ms: Option<f64>,
    /// `false` turns the heartbeat off. Default: a `{"type":"ping"}` every 25 s, dead after 10 s of silence.
    #[tsify(optional, type = "boolean | HeartbeatOptions")]
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    heartbeat: JsValue,
    #[tsify(optional)]
    close_codes: Option<CloseCodeOptions>,
    #[tsify(optional)]
    queue: Option<QueueOptions>,
    /// "auto" (default): offer the `tabwire.v1` subprotocol and use acknowledged delivery when the server selects it. "raw": never.
    #[tsify(optional)]
    protocol: Option<ProtocolMode>,
    /// Connect at once (default). With `false` the client waits in `idle` until `reconnect()`.
    #[tsify(optional)]
    auto_connect: Option<bool>,
    /// Share one connection among this origin's tabs of the same namespace (`queue.key`, else the URL without its query): one tab leads and holds the socket, the others follow. Default true; tabs without Web Locks or BroadcastChannel run solo.
    #[tsify(optional)]
    share: Option<bool>,
    /// Credentials for servers that ask for them: a string, or a function called before every connection attempt (`authFailed` is true after a close with an auth failure code). Kept in memory only, never stored.
    #[tsify(optional, type = "string | TokenProvider")]
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    token: JsValue,
    /// Where the token goes: "frame" (default), an `auth` frame first on every socket (tabwire protocol; it stays out of URLs and logs), or "query", the `token` parameter of the URL.
    #[tsify(optional)]
    token_in: Option<TokenIn>,
    /// The field of a JSON frame whose value `onType` routes by. Default "type".
    #[tsify(optional)]
    type_field: Option<String>,
}

#[derive(Deserialize, Tsify)]
#[serde(untagged)]
enum Protocols {
    One(String),
    Many(Vec<String>),
}

/// Backoff: `delay = min(maxDelayMs, minDelayMs * factor ^ retry)`, spread by `jitter`.
#[derive(Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct ReconnectOptions {
    /// Default 500.
    #[tsify(optional)]
    min_delay_ms: Option<f64>,
    /// Default 30000.
    #[tsify(optional)]
    max_delay_ms: Option<f64>,
    /// Default 2.
    #[tsify(optional)]
    factor: Option<f64>,
    /// Default "full".
    #[tsify(optional)]
    jitter: Option<JitterMode>,
    /// Retries before giving up. Default `Infinity`.
    #[tsify(optional)]
    max_retries: Option<f64>,
    /// The retry counter resets only after a connection stayed open this long. Default 5000.
    #[tsify(optional)]
    min_uptime_ms: Option<f64>,
}

/// "full": random in [0, delay]; "equal": delay/2 plus a random half; "none": the delay itself.
#[derive(Deserialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum JitterMode {
    Full,
    Equal,
    None,
}

/// The heartbeat: a ping after `intervalMs`; no frame at all within `timeoutMs` after it means the socket is dead (`heartbeat: false` turns it off).
#[derive(Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatOptions {
    /// Time between pings. Default 25000.
    #[tsify(optional)]
    interval_ms: Option<f64>,
    /// Silence after a ping that declares the socket dead. Default 10000.
    #[tsify(optional)]
    timeout_ms: Option<f64>,
    /// The ping frame. Default `{"type":"ping"}`.
    #[tsify(optional)]
    ping: Option<String>,
    /// The pong frame (exact text) or a matcher. Default `{"type":"pong"}`.
    #[tsify(optional, type = "string | PongMatcher")]
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pong: JsValue,
}

/// Close codes sent by the server: a code or an inclusive `[first, last]` range.
#[derive(Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct CloseCodeOptions {
    /// Codes that stop the client. Default `[1008, [4000, 4099]]`.
    #[tsify(optional)]
    fatal: Option<Vec<CodeSpec>>,
    /// Codes that make the client ask the URL provider again. Default `[4401]`.
    #[tsify(optional)]
    auth_failure: Option<Vec<CodeSpec>>,
}

/// A close code, or an inclusive `[first, last]` range of codes.
#[derive(Deserialize, Tsify)]
#[serde(untagged)]
enum CodeSpec {
    Code(f64),
    Range(f64, f64),
}

/// Where the token goes: "frame" (default), an `auth` frame first on every socket; "query", the URL's `token` parameter.
#[derive(Deserialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum TokenIn {
    Frame,
    Query,
}

/// "auto" (default): offer the `tabwire.v1` subprotocol and use acknowledged delivery when the server selects it; "raw": never.
#[derive(Deserialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolMode {
    Auto,
    Raw,
}

/// The outbox: undelivered messages, kept in order.
#[derive(Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct QueueOptions {
    /// "local" (default where localStorage works): one key per message, kept across reloads. "memory": lost with the page.
    #[tsify(optional)]
    storage: Option<StorageMode>,
    /// Namespace of the stored messages. Default: the URL without its query (tokens), or "default" with a URL provider.
    #[tsify(optional)]
    key: Option<String>,
    /// Undelivered messages kept at most. Default 1000.
    #[tsify(optional)]
    max_messages: Option<f64>,
    /// Their total size at most (string length, or bytes). Default 1048576.
    #[tsify(optional)]
    max_bytes: Option<f64>,
    /// Messages older than this are dropped with an `expired` event. Default: never.
    #[tsify(optional)]
    ttl_ms: Option<f64>,
    /// What `send` does when the outbox is full: "refuse" (default) returns a refused receipt, "throw" throws.
    #[tsify(optional)]
    when_full: Option<WhenFull>,
}

/// "local" (default): one localStorage key per undelivered message, kept across reloads; "memory": lost with the page.
#[derive(Deserialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum StorageMode {
    Local,
    Memory,
}

/// What `send()` does when the outbox is full: "refuse" (default) returns a `refused` receipt; "throw" throws. Nothing queued is ever dropped.
#[derive(Deserialize, Tsify, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum WhenFull {
    Refuse,
    Throw,
}

/// A rejected options object.
#[derive(Debug)]
pub enum OptionsError {
    /// The object does not have the shape of `TabWireOptions`.
    Shape(String),
    /// A key that no option has, with its path (`reconnect.minDelay`).
    UnknownOption(String),
    /// `url` is neither a string nor a function.
    UrlType,
    /// `heartbeat.pong` is neither a string nor a function.
    PongType,
    /// `token` is neither a string nor a function.
    TokenType,
    Value(ConfigError),
}

impl From<ConfigError> for OptionsError {
    fn from(error: ConfigError) -> Self {
        OptionsError::Value(error)
    }
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionsError::Shape(message) => write!(f, "tabwire: invalid options: {message}"),
            OptionsError::UnknownOption(key) => write!(f, "tabwire: unknown option \"{key}\""),
            OptionsError::UrlType => write!(f, "tabwire: url must be a string or a function"),
            OptionsError::PongType => write!(f, "tabwire: heartbeat.pong must be a string or a function"),
            OptionsError::TokenType => write!(f, "tabwire: token must be a string or a function"),
            OptionsError::Value(error) => write!(f, "tabwire: {error}"),
        }
    }
}

impl TabWireOptions {
    /// Reads the options object handed to the constructor.
    pub fn from_js(options: JsValue) -> Result<Self, OptionsError> {
        if let Some(key) = misspelt_option(&options) {
            return Err(OptionsError::UnknownOption(key));
        }
        serde_wasm_bindgen::from_value(options).map_err(|error| OptionsError::Shape(error.to_string()))
    }

    /// Applies the defaults and checks every value.
    pub fn resolve(self) -> Result<Resolved, OptionsError> {
        let (url, url_provider) = if let Some(url) = self.url.as_string() {
            (UrlSource::Fixed(url), None)
        } else if let Some(function) = self.url.dyn_ref::<Function>() {
            (UrlSource::Provider, Some(function.clone()))
        } else {
            return Err(OptionsError::UrlType);
        };
        let token = if self.token.is_undefined() {
            None
        } else if let Some(token) = self.token.as_string() {
            Some(TokenSource::Fixed(token))
        } else if let Some(function) = self.token.dyn_ref::<Function>() {
            Some(TokenSource::Provider(function.clone()))
        } else {
            return Err(OptionsError::TokenType);
        };
        let token_in = match self.token_in {
            Some(TokenIn::Query) => TokenPlace::Query,
            _ => TokenPlace::Frame,
        };
        let mut protocols = match self.protocols {
            None => Vec::new(),
            Some(Protocols::One(protocol)) => vec![protocol],
            Some(Protocols::Many(protocols)) => protocols,
        };
        check_protocols(&protocols)?;
        if !matches!(self.protocol, Some(ProtocolMode::Raw)) && !protocols.iter().any(|p| p == SUBPROTOCOL) {
            protocols.push(SUBPROTOCOL.to_owned());
        }
        let namespace = match (&self.queue.as_ref().and_then(|q| q.key.clone()), &url) {
            (Some(key), _) => key.clone(),
            (None, UrlSource::Fixed(url)) => url.split(['?', '#']).next().unwrap_or_default().to_owned(),
            (None, UrlSource::Provider) => "default".to_owned(),
        };
        let (heartbeat, ping, pong) = resolve_heartbeat(self.heartbeat)?;
        // With a token provider every attempt resolves the URL again, to
        // put a fresh token in (the URL itself is checked here, once).
        if let (UrlSource::Fixed(url), Some(TokenSource::Provider(_))) = (&url, &token) {
            if let Some(reason) = url_problem(url) {
                return Err(ConfigError::InvalidUrl { url: url.clone(), reason }.into());
            }
        }
        let (url, fixed_url) = match (url, &token, token_in) {
            (UrlSource::Fixed(url), Some(TokenSource::Provider(_)), _) => (UrlSource::Provider, Some(url)),
            (UrlSource::Fixed(url), Some(TokenSource::Fixed(token)), TokenPlace::Query) => {
                (UrlSource::Fixed(with_token(&url, token)), None)
            }
            (url, _, _) => (url, None),
        };
        let mut config = Config::new(url);
        config.reconnect = resolve_reconnect(self.reconnect)?;
        if let Some(timeout) = self.connect_timeout_ms {
            config.connect_timeout_ms = check_positive_duration("connectTimeoutMs", timeout)?;
        }
        config.heartbeat = heartbeat;
        config.close_codes = resolve_close_codes(self.close_codes)?;
        let mut when_full = WhenFull::Refuse;
        if let Some(queue) = self.queue {
            config.queue = resolve_queue(&queue)?;
            when_full = queue.when_full.unwrap_or(WhenFull::Refuse);
        }
        config.auto_connect = self.auto_connect.unwrap_or(true);
        config.share = self.share.unwrap_or(true).then(ShareConfig::default);
        config.validate()?;
        let protocols = protocols.into_iter().map(JsValue::from).collect::<Array>();
        let wire = WireConfig { protocols, ping, pong, url_provider, fixed_url, token, token_in };
        let type_field = self.type_field.unwrap_or_else(|| "type".to_owned());
        if type_field.is_empty() {
            return Err(ConfigError::EmptyTypeField.into());
        }
        Ok(Resolved { config, wire, namespace, when_full, type_field })
    }
}

/// Options turned into what the parts of the client need.
pub struct Resolved {
    pub config: Config,
    pub wire: WireConfig,
    /// Names the stored outbox and the group of tabs sharing a connection.
    pub namespace: String,
    pub when_full: WhenFull,
    /// The field `onType` routes by.
    pub type_field: String,
}

fn resolve_queue(options: &QueueOptions) -> Result<QueueConfig, ConfigError> {
    let mut config = QueueConfig::default();
    if let Some(value) = options.max_messages {
        config.max_messages = check_count("queue.maxMessages", value)? as usize;
    }
    if let Some(value) = options.max_bytes {
        config.max_bytes = check_count("queue.maxBytes", value)? as usize;
    }
    if let Some(value) = options.ttl_ms {
        config.ttl_ms = Some(check_positive_duration("queue.ttlMs", value)?);
    }
    config.durable = !matches!(options.storage, Some(StorageMode::Memory));
    Ok(config)
}

/// The first key, at any depth, that is not an option.
fn misspelt_option(options: &JsValue) -> Option<String> {
    let nested = |key: &str| js_sys::Reflect::get(options, &key.into()).unwrap_or_default();
    unknown_key(options, "", fields_of::<TabWireOptions>())
        .or_else(|| unknown_key(&nested("reconnect"), "reconnect.", fields_of::<ReconnectOptions>()))
        .or_else(|| unknown_key(&nested("heartbeat"), "heartbeat.", fields_of::<HeartbeatOptions>()))
        .or_else(|| unknown_key(&nested("closeCodes"), "closeCodes.", fields_of::<CloseCodeOptions>()))
        .or_else(|| unknown_key(&nested("queue"), "queue.", fields_of::<QueueOptions>()))
}

fn resolve_reconnect(options: Option<ReconnectOptions>) -> Result<ReconnectConfig, ConfigError> {
    let mut config = ReconnectConfig::default();
    let Some(options) = options else { return Ok(config) };
    if let Some(value) = options.min_delay_ms {
        config.min_delay_ms = check_duration("reconnect.minDelayMs", value)?;
    }
    if let Some(value) = options.max_delay_ms {
        config.max_delay_ms = check_duration("reconnect.maxDelayMs", value)?;
    }
    if let Some(value) = options.factor {
        config.factor = check_factor(value)?;
    }
    if let Some(jitter) = options.jitter {
        config.jitter = match jitter {
            JitterMode::Full => Jitter::Full,
            JitterMode::Equal => Jitter::Equal,
            JitterMode::None => Jitter::None,
        };
    }
    if let Some(value) = options.max_retries {
        config.max_retries = if value == f64::INFINITY { None } else { Some(check_count("reconnect.maxRetries", value)?) };
    }
    if let Some(value) = options.min_uptime_ms {
        config.min_uptime_ms = check_duration("reconnect.minUptimeMs", value)?;
    }
    Ok(config)
}

type Heartbeat = (Option<HeartbeatConfig>, Option<JsValue>, Option<PongMatcher>);

fn resolve_heartbeat(option: JsValue) -> Result<Heartbeat, OptionsError> {
    let options = match option.as_bool() {
        Some(false) => return Ok((None, None, None)),
        Some(true) => None,
        None if option.is_undefined() => None,
        None => Some(
            serde_wasm_bindgen::from_value::<HeartbeatOptions>(option)
                .map_err(|error| OptionsError::Shape(format!("heartbeat: {error}")))?,
        ),
    };
    let mut config = HeartbeatConfig::default();
    let mut ping = DEFAULT_PING.to_owned();
    let mut pong = PongMatcher::Text(JsValue::from_str(DEFAULT_PONG));
    if let Some(options) = options {
        if let Some(value) = options.interval_ms {
            config.interval_ms = check_positive_duration("heartbeat.intervalMs", value)?;
        }
        if let Some(value) = options.timeout_ms {
            config.timeout_ms = check_positive_duration("heartbeat.timeoutMs", value)?;
        }
        if let Some(text) = options.ping {
            if text.is_empty() {
                return Err(ConfigError::EmptyPing.into());
            }
            ping = text;
        }
        if options.pong.is_string() {
            pong = PongMatcher::Text(options.pong);
        } else if let Some(function) = options.pong.dyn_ref::<Function>() {
            pong = PongMatcher::Function(function.clone());
        } else if !options.pong.is_undefined() {
            return Err(OptionsError::PongType);
        }
    }
    Ok((Some(config), Some(JsValue::from_str(&ping)), Some(pong)))
}

fn resolve_close_codes(options: Option<CloseCodeOptions>) -> Result<CloseCodePolicy, ConfigError> {
    let mut policy = CloseCodePolicy::default();
    let Some(options) = options else { return Ok(policy) };
    if let Some(specs) = options.fatal {
        policy.fatal = resolve_codes("closeCodes.fatal", specs)?;
    }
    if let Some(specs) = options.auth_failure {
        policy.auth_failure = resolve_codes("closeCodes.authFailure", specs)?;
    }
    Ok(policy)
}

fn resolve_codes(option: &'static str, specs: Vec<CodeSpec>) -> Result<Vec<CodeRange>, ConfigError> {
    specs
        .into_iter()
        .map(|spec| match spec {
            CodeSpec::Code(code) => check_code_range(option, code, code),
            CodeSpec::Range(first, last) => check_code_range(option, first, last),
        })
        .collect()
}
