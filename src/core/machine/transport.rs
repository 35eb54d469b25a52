//! The machine's part in choosing the transport (see `core::transport` for
//! the rules): what an attempt's end or a connection's opening changes, the
//! probes of the WebSocket while on HTTP, and the move back to it.

use super::Machine;
use crate::core::effect::{Effect, Timer};
use crate::core::event::CloseInfo;
use crate::core::transport::{Move, Transport, PROBE_HOLD_MS};
use crate::core::Payload;

/// Close code of an HTTP session given up for a WebSocket (or a stream for polls).
const SWITCH_CLOSE_CODE: u16 = 1000;

impl<P: Payload + Clone> Machine<P> {
    /// The transport of the next attempt.
    pub(super) fn next_transport(&self) -> Transport {
        self.transports.current()
    }

    /// An attempt ended (it never opened: `uptime_ms` is `None`).
    pub(super) fn transport_attempt_ended(&mut self, uptime_ms: Option<f64>, closed_cleanly: bool) {
        if let Move::BackToWebSocket = self.transports.attempt_ended(uptime_ms, closed_cleanly) {
            self.cancel(Timer::Upgrade);
        }
    }

    /// The connection opened: an HTTP transport on trial is settled on,
    /// and the WebSocket probed meanwhile, the first time at once (the
    /// fall back is kept for the next page loads once that probe failed).
    pub(super) fn transport_opened(&mut self, now: f64) {
        self.transports.opened();
        if self.transports.probing() && self.timers[Timer::Upgrade.index()].is_none() {
            let at = now + self.transports.probe_ms();
            self.arm(Timer::Upgrade, at);
        }
    }

    /// A stream opened but its first event did not come: a proxy buffers
    /// it. Polls take over at once, if allowed; returns whether they did.
    pub(super) fn stream_buffered(&mut self, now: f64) -> bool {
        let Some(polling) = self.transports.buffered() else {
            return false;
        };
        let info = CloseInfo {
            code: SWITCH_CLOSE_CODE,
            reason: format!("stream buffered; {}", polling.as_str()),
            clean: true,
            will_reconnect: true,
        };
        self.cancel(Timer::ConnectTimeout);
        self.discard_socket(&info);
        self.effects.push_back(Effect::RememberTransport {
            transport: Some(polling),
        });
        self.begin_attempt(now);
        true
    }

    pub(super) fn on_upgrade_timer(&mut self) {
        if !(self.transports.probing() && self.owns_connection()) {
            return;
        }
        if let Some(url) = self.last_url.clone() {
            self.effects.push_back(Effect::ProbeWebSocket {
                url,
                hold_ms: PROBE_HOLD_MS,
            });
        }
    }

    /// A probe passed: the HTTP session ends and a WebSocket opens at once;
    /// what was not acknowledged is sent again on it (the server knows the
    /// ids) and the channels resume from their positions. It failed: the
    /// next probe comes later.
    pub(super) fn on_probe_result(&mut self, now: f64, passed: bool) {
        if !(self.transports.probing() && self.owns_connection()) {
            return;
        }
        if !passed {
            if let Some(transport) = self.transports.probe_failed() {
                self.effects.push_back(Effect::RememberTransport { transport: Some(transport) });
            }
            let at = now + self.transports.probe_ms();
            return self.arm(Timer::Upgrade, at);
        }
        self.transports.upgrade();
        self.effects
            .push_back(Effect::RememberTransport { transport: None });
        self.cancel_all_timers();
        let info = CloseInfo {
            code: SWITCH_CLOSE_CODE,
            reason: "upgrade to websocket".to_owned(),
            clean: true,
            will_reconnect: true,
        };
        self.discard_socket(&info);
        self.begin_attempt(now);
    }
}
