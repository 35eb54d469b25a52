//! The browser side of sharing one connection among tabs: the leader lock,
//! each tab's own lock (whose release tells the leader the tab is gone),
//! the `BroadcastChannel`, and the epoch the next leader starts from.

use std::rc::Rc;

use wasm_bindgen::JsValue;
use web_sys::Storage;

use super::broadcast::{Broadcast, Heard};
use super::locks::{lock_manager, LockManager, LockRequest};
use super::peer_codec;

/// What the sharing machinery reports to the driver.
pub enum ShareSignal {
    LockGranted,
    LockLost,
    Heard(Heard),
    TabGone(String),
}

type OnSignal = Rc<dyn Fn(ShareSignal)>;

/// Everything a tab holds to take part in sharing; dropping it releases
/// every lock (so the leader sees this tab go) and closes the channel.
pub struct Sharing {
    manager: LockManager,
    /// Closed while the page is in the back/forward cache: a message
    /// arriving there would evict the page.
    channel: Option<Broadcast>,
    /// `tabwire:<namespace>`: the leader lock and the channel's name.
    name: String,
    tab: String,
    on_signal: OnSignal,
    leader: Option<LockRequest>,
    /// Held for this page's life (released while in the back/forward cache).
    own: Option<LockRequest>,
    /// The tabs whose end this leader waits for (a handful: a Vec).
    watches: Vec<(String, LockRequest)>,
    storage: Option<Storage>,
}

impl Sharing {
    /// `None` where the page has no Web Locks or no BroadcastChannel: the
    /// tab then runs solo.
    pub fn open(namespace: &str, tab: &str, on_signal: impl Fn(ShareSignal) + 'static) -> Option<Sharing> {
        let manager = lock_manager()?;
        let name = format!("tabwire:{namespace}");
        let on_signal: OnSignal = Rc::new(on_signal);
        let channel = Some(open_channel(&name, &on_signal)?);
        let storage = web_sys::window().and_then(|window| window.local_storage().ok().flatten());
        let mut sharing = Sharing {
            manager,
            channel,
            name,
            tab: tab.to_owned(),
            on_signal,
            leader: None,
            own: None,
            watches: Vec::new(),
            storage,
        };
        sharing.hold_own_lock();
        Some(sharing)
    }

    /// Waits in line for the leader lock, or takes it (`steal`).
    pub fn request_leader(&mut self, steal: bool) {
        if self.leader.as_ref().is_some_and(LockRequest::is_held) {
            return;
        }
        // A steal replaces the place in line (dropping it leaves the line).
        self.leader = None;
        let (granted, lost) = (self.on_signal.clone(), self.on_signal.clone());
        self.leader = Some(LockRequest::new(
            &self.manager,
            &self.name,
            steal,
            move || granted(ShareSignal::LockGranted),
            move || lost(ShareSignal::LockLost),
        ));
    }

    pub fn release_leader(&mut self) {
        self.leader = None;
    }

    /// Waits for `tab` to end: its own lock becomes free then.
    pub fn watch(&mut self, tab: &str) {
        if self.watches.iter().any(|(watched, _)| watched == tab) {
            return;
        }
        let on_signal = self.on_signal.clone();
        let gone = tab.to_owned();
        let request = LockRequest::new(
            &self.manager,
            &self.tab_lock(tab),
            false,
            move || on_signal(ShareSignal::TabGone(gone)),
            || {},
        );
        self.watches.push((tab.to_owned(), request));
    }

    /// Lets go of the lock of a tab that ended (it was only borrowed to learn that).
    pub fn unwatch(&mut self, tab: &str) {
        self.watches.retain(|(watched, _)| watched != tab);
    }

    /// Into the back/forward cache: hold nothing and hear nothing, so the
    /// other tabs carry on and the cached page stays cached.
    pub fn suspend(&mut self) {
        self.leader = None;
        self.own = None;
        self.watches.clear();
        self.channel = None;
    }

    pub fn resume(&mut self) {
        if self.own.is_none() {
            self.hold_own_lock();
        }
        if self.channel.is_none() {
            self.channel = open_channel(&self.name, &self.on_signal);
        }
    }

    /// Posts to the other tabs; nothing while suspended.
    pub fn post(&self, message: &JsValue) -> Result<(), JsValue> {
        self.channel.as_ref().map_or(Ok(()), |channel| channel.post(message))
    }

    /// Posts at the end of the current burst of frames (see `Broadcast`).
    pub fn post_soon(&self, message: &JsValue) {
        if let Some(channel) = &self.channel {
            channel.post_soon(message);
        }
    }

    /// The epoch the last leader kept; 0 if none (or no storage).
    pub fn stored_epoch(&self) -> u64 {
        let stored = self.storage.as_ref().and_then(|storage| storage.get_item(&self.epoch_key()).ok().flatten());
        stored.and_then(|text| text.parse().ok()).unwrap_or(0)
    }

    /// Kept for the next leader; a failure (quota) only costs the next
    /// leader the hint, as followers also remember the epochs they saw.
    pub fn store_epoch(&self, epoch: u64) {
        if let Some(storage) = &self.storage {
            let _ = storage.set_item(&self.epoch_key(), &epoch.to_string());
        }
    }

    fn hold_own_lock(&mut self) {
        let name = self.tab_lock(&self.tab);
        self.own = Some(LockRequest::new(&self.manager, &name, false, || {}, || {}));
    }

    fn tab_lock(&self, tab: &str) -> String {
        format!("{}:tab:{tab}", self.name)
    }

    fn epoch_key(&self) -> String {
        format!("{}:epoch", self.name)
    }
}

fn open_channel(name: &str, on_signal: &OnSignal) -> Option<Broadcast> {
    let on_signal = on_signal.clone();
    Broadcast::open(name, peer_codec::batch, move |heard| on_signal(ShareSignal::Heard(heard)))
}
