//! The driver's side of the socket: the URL and token of each attempt, the
//! socket's events, and its frames sorted into the machine's inputs.

use std::rc::Rc;

use crate::core::{Input, Mode};
use crate::web::frame::Frame;
use crate::web::link::Link;
use crate::web::protocol::{self, Inbound};
use crate::web::socket::SocketEvent;
use crate::web::url_provider;
use crate::web::wire::{with_token, TokenPlace, TokenSource};

use super::Shared;

impl Shared {
    /// Asks the URL provider (or takes the fixed URL) and the token
    /// provider, if any, for this attempt.
    pub(super) fn resolve_url(self: &Rc<Self>, generation: u64, attempt: u32, auth_failed: bool) {
        let url_provider = self.wire.url_provider.clone();
        let fixed_url = self.wire.fixed_url.clone();
        let token_provider = match &self.wire.token {
            Some(TokenSource::Provider(provider)) => Some(provider.clone()),
            _ => None,
        };
        let weak = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let url = match url_provider {
                Some(provider) => url_provider::resolve(provider, attempt, auth_failed, "URL").await,
                None => fixed_url.ok_or_else(|| "no url".to_owned()),
            };
            let resolved = match (url, token_provider) {
                (Ok(url), Some(provider)) => match url_provider::resolve(provider, attempt, auth_failed, "token").await {
                    Ok(token) => Ok((url, Some(token))),
                    Err(message) => Err(format!("(token provider) {message}")),
                },
                (url, _) => url.map(|url| (url, None)),
            };
            if let Some(shared) = weak.upgrade() {
                shared.handle(match resolved {
                    Ok((url, token)) => Input::UrlResolved { generation, url: shared.place_token(url, token) },
                    Err(message) => Input::UrlFailed { generation, message },
                });
            }
        });
    }

    /// Puts a fresh token where it goes: in the URL, or aside for the
    /// `auth` frame. It is never stored.
    fn place_token(&self, url: String, token: Option<String>) -> String {
        let Some(token) = token else { return url };
        match self.wire.token_in {
            TokenPlace::Query => with_token(&url, &token),
            TokenPlace::Frame => {
                *self.token.borrow_mut() = Some(token);
                url
            }
        }
    }

    pub(super) fn socket_listener(self: &Rc<Self>, generation: u64) -> Rc<dyn Fn(SocketEvent)> {
        let weak = Rc::downgrade(self);
        Rc::new(move |event| {
            if let Some(shared) = weak.upgrade() {
                shared.on_socket_event(generation, event);
            }
        })
    }

    fn on_socket_event(self: &Rc<Self>, generation: u64, event: SocketEvent) {
        let input = match event {
            SocketEvent::Open => {
                let subprotocol = self
                    .runtime
                    .borrow()
                    .socket
                    .as_ref()
                    .map(Link::protocol)
                    .unwrap_or_default();
                Input::Opened {
                    generation,
                    subprotocol,
                }
            }
            SocketEvent::Message(data) => self.classify(generation, data),
            SocketEvent::Error => Input::SocketError { generation },
            SocketEvent::Close { code, reason, clean } => Input::Closed { generation, code, reason, clean },
        };
        self.handle(input);
    }

    /// The server greeted: this client's hello first, then its credentials
    /// (the server handles frames in order, so whatever follows is judged
    /// by them).
    pub(super) fn greet(&self, runtime: &super::Runtime) {
        Self::transmit(runtime, &protocol::hello(&self.client_id));
        if self.wire.token_in == TokenPlace::Frame {
            if let Some(token) = self.token.borrow().as_deref() {
                Self::transmit(runtime, &protocol::auth(token));
            }
        }
    }

    /// Sorts an incoming frame by what the connection speaks: a greeting
    /// while the machine waits for one; with the protocol, by its `type`;
    /// otherwise by the pong matcher, which may run a user function, so it
    /// runs here, before any borrow.
    fn classify(&self, generation: u64, data: wasm_bindgen::JsValue) -> Input<Frame> {
        let (expects_hello, mode) = {
            let runtime = self.runtime.borrow();
            (runtime.machine.expects_hello(), runtime.machine.mode())
        };
        // Before the server's word every frame is looked at: the first
        // may be its hello.
        let inbound = (expects_hello || mode == Some(Mode::Tabwire)).then(|| protocol::classify(&data));
        if let (Some(Inbound::Hello { protocol }), true) = (&inbound, expects_hello) {
            return Input::Hello { generation, protocol: protocol.clone(), payload: Frame::inbound(data) };
        }
        if let (Some(inbound), Some(Mode::Tabwire)) = (inbound, mode) {
            return match inbound {
                Inbound::Pong => Input::Pong { generation },
                Inbound::Ack(id) => Input::Ack { generation, id },
                Inbound::Rejected { id, code, message } => Input::Rejected { generation, id, code, message },
                Inbound::Error { code, message } => Input::ServerError { generation, code, message },
                Inbound::Publication { channel, offset } => {
                    Input::Publication { generation, channel, offset, payload: Frame::inbound(data) }
                }
                Inbound::Subscribed { channel, offset, epoch } => Input::Subscribed { generation, channel, offset, epoch },
                Inbound::Unsubscribed { channel } => Input::Unsubscribed { generation, channel },
                Inbound::SubscribeError { channel, code, message } => {
                    Input::SubscribeError { generation, channel, code, message }
                }
                Inbound::Gap { channel, since, from, reason, epoch } => {
                    Input::Gap { generation, channel, since, from, reason, epoch }
                }
                Inbound::Hello { .. } => Input::Frame { generation, payload: Frame::inbound(data) },
                Inbound::Message(parsed) => {
                    let frame = Frame::inbound(data);
                    let payload = match parsed {
                        Some(parsed) => frame.with_parsed(parsed),
                        None => frame,
                    };
                    Input::Frame { generation, payload }
                }
            };
        }
        if mode == Some(Mode::Raw) && self.wire.raw_pong.as_ref().is_some_and(|pong| pong.matches(&data)) {
            Input::Pong { generation }
        } else {
            Input::Frame { generation, payload: Frame::inbound(data) }
        }
    }
}
