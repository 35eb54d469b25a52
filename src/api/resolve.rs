//! The options, once read, turned into what the parts of the client need:
//! defaults applied and every rule checked (see `core::config` for the rules).

use js_sys::{Array, Function};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::close_codes::{CloseCodePolicy, CodeRange};
use crate::core::config::{
    check_code_range, check_count, check_duration, check_factor, check_positive_duration, check_protocols, url_problem,
};
use crate::core::{
    Config, ConfigError, HeartbeatConfig, Jitter, ProtocolChoice, QueueConfig, ReconnectConfig,
    ShareConfig, Transport, UrlSource,
};
use crate::web::wire::with_token;
use crate::web::{PongMatcher, TokenPlace, TokenSource, WireConfig};

use super::names::TransportName;
use super::options::{
    CloseCodeOptions, CodeSpec, Heartbeat, JitterMode, ProtocolMode, Protocols, QueueOptions,
    ReconnectOptions, StorageMode, TabWireOptions, TokenIn, WhenFull,
};
use super::options_error::OptionsError;

/// The pong a raw connection's ping expects unless told otherwise.
const DEFAULT_PONG: &str = r#"{"type":"pong"}"#;

impl TabWireOptions {
    /// Applies the defaults and checks every value.
    pub fn resolve(self) -> Result<Resolved, OptionsError> {
        let (url, url_provider) = if self.url.is_undefined() {
            return Err(OptionsError::MissingUrl);
        } else if let Some(url) = self.url.as_string() {
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
        // The application's own, and nothing of tabwire's: a server that
        // selects none of the offered subprotocols fails the handshake.
        let protocols = match self.protocols {
            None => Vec::new(),
            Some(Protocols::One(protocol)) => vec![protocol],
            Some(Protocols::Many(protocols)) => protocols,
        };
        check_protocols(&protocols)?;
        let namespace = match (&self.queue.as_ref().and_then(|q| q.key.clone()), &url) {
            (Some(key), _) => key.clone(),
            (None, UrlSource::Fixed(url)) => url.split(['?', '#']).next().unwrap_or_default().to_owned(),
            (None, UrlSource::Provider) => return Err(OptionsError::ProviderWithoutKey),
        };
        let (heartbeat, raw_ping, raw_pong) = resolve_heartbeat(self.heartbeat)?;
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
        config.protocol = match self.protocol {
            None | Some(ProtocolMode::Auto) => ProtocolChoice::Auto,
            Some(ProtocolMode::Tabwire) => ProtocolChoice::Tabwire,
            Some(ProtocolMode::Raw) => ProtocolChoice::Raw,
        };
        config.transports = resolve_transports(self.transports, config.protocol)?;
        if let Some(timeout) = self.hello_timeout_ms {
            config.hello_timeout_ms = check_positive_duration("helloTimeoutMs", timeout)?;
        }
        config.share = self.share.unwrap_or(true).then(ShareConfig::default);
        config.validate()?;
        let protocols = protocols.into_iter().map(JsValue::from).collect::<Array>();
        let wire = WireConfig { protocols, raw_ping, raw_pong, url_provider, fixed_url, token, token_in };
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

/// The transports, in order, without repeats; with `protocol: "raw"` only
/// the WebSocket (HTTP carries the tabwire protocol only).
fn resolve_transports(
    names: Option<Vec<TransportName>>,
    protocol: ProtocolChoice,
) -> Result<Vec<Transport>, OptionsError> {
    let Some(names) = names else {
        let all = [Transport::WebSocket, Transport::Sse, Transport::Polling];
        return Ok(all
            .into_iter()
            .filter(|transport| protocol != ProtocolChoice::Raw || !transport.is_http())
            .collect());
    };
    let mut transports: Vec<Transport> = Vec::new();
    for transport in names.into_iter().map(Transport::from) {
        if transports.contains(&transport) {
            return Err(OptionsError::Transports(format!(
                "lists \"{}\" twice",
                transport.as_str()
            )));
        }
        transports.push(transport);
    }
    if transports.is_empty() {
        return Err(OptionsError::Transports("is empty".to_owned()));
    }
    if protocol == ProtocolChoice::Raw && transports.iter().any(|transport| transport.is_http()) {
        return Err(OptionsError::Transports("names an HTTP transport, which carries the tabwire protocol only (protocol is \"raw\")".to_owned()));
    }
    Ok(transports)
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
        config.ttl_ms = if value == f64::INFINITY { None } else { Some(check_positive_duration("queue.ttlMs", value)?) };
    }
    config.durable = !matches!(options.storage, Some(StorageMode::Memory));
    Ok(config)
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

/// The heartbeat's timing, and the ping and pong of raw connections: set
/// only when the application gave its ping, which turns the heartbeat on
/// for them.
type HeartbeatParts = (Option<HeartbeatConfig>, Option<JsValue>, Option<PongMatcher>);

fn resolve_heartbeat(option: Option<Heartbeat>) -> Result<HeartbeatParts, OptionsError> {
    let options = match option {
        Some(Heartbeat::Switch(false)) => return Ok((None, None, None)),
        Some(Heartbeat::Switch(true)) | None => return Ok((Some(HeartbeatConfig::default()), None, None)),
        Some(Heartbeat::Tuned(options)) => options,
    };
    let mut config = HeartbeatConfig::default();
    if let Some(value) = options.interval_ms {
        config.interval_ms = check_positive_duration("heartbeat.intervalMs", value)?;
    }
    if let Some(value) = options.timeout_ms {
        config.timeout_ms = check_positive_duration("heartbeat.timeoutMs", value)?;
    }
    let pong = if options.pong.is_undefined() {
        PongMatcher::Text(JsValue::from_str(DEFAULT_PONG))
    } else if options.pong.is_string() {
        PongMatcher::Text(options.pong)
    } else if let Some(function) = options.pong.dyn_ref::<Function>() {
        PongMatcher::Function(function.clone())
    } else {
        return Err(OptionsError::PongType);
    };
    let Some(ping) = options.ping else { return Ok((Some(config), None, None)) };
    if ping.is_empty() {
        return Err(ConfigError::EmptyPing.into());
    }
    config.in_raw = true;
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
