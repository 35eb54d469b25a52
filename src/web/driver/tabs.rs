//! The driver's side of sharing: what the locks and the other tabs report,
//! fed to the machine.

use std::rc::Rc;

use crate::core::{Event, Input};
use crate::web::broadcast::Heard;
use crate::web::peer_codec;
use crate::web::sharing::{ShareSignal, Sharing};

use super::{Callout, Shared};

impl Shared {
    pub(super) fn on_share_signal(self: &Rc<Self>, signal: ShareSignal) {
        let input = match signal {
            ShareSignal::LockGranted => {
                self.recall_transport();
                let stored_epoch = self
                    .runtime
                    .borrow()
                    .sharing
                    .as_ref()
                    .map_or(0, Sharing::stored_epoch);
                Input::LockGranted { stored_epoch }
            }
            ShareSignal::LockLost => Input::LockLost,
            ShareSignal::Heard(Heard::Message(message)) => {
                peer_codec::decode_post(&message, |decoded| match decoded {
                    Ok(peer) => self.handle(Input::Peer(peer)),
                    Err(reason) => self.warn_broadcast(reason),
                });
                return;
            }
            ShareSignal::Heard(Heard::Unreadable) => {
                return self.warn_broadcast("a message that could not be deserialized".to_owned());
            }
            ShareSignal::TabGone(tab) => {
                self.with_sharing(|sharing| sharing.unwatch(&tab));
                Input::TabGone { tab }
            }
        };
        self.handle(input);
    }

    /// Something else talks on the tabs' channel: say so, and carry on.
    fn warn_broadcast(self: &Rc<Self>, reason: String) {
        let warning = Event::Warning { key: "BroadcastChannel".to_owned(), reason: format!("ignored {reason}") };
        self.callouts.borrow_mut().push_back(Callout::Deliver(warning));
        self.run_callouts();
    }

    pub(super) fn with_sharing(&self, action: impl FnOnce(&mut Sharing)) {
        if let Some(sharing) = &mut self.runtime.borrow_mut().sharing {
            action(sharing);
        }
    }
}
