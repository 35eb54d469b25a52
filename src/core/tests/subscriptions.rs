//! The subscription table: one server subscription per channel, whatever
//! the number of tabs listening to it.

use crate::core::subscriptions::{Change, Subscriptions};

fn channels(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

fn change(subscribe: &[&str], unsubscribe: &[&str]) -> Change {
    Change { subscribe: channels(subscribe), unsubscribe: channels(unsubscribe) }
}

#[test]
fn a_channel_is_subscribed_by_its_first_tab_and_unsubscribed_by_its_last() {
    let mut table = Subscriptions::default();
    assert_eq!(table.set("a", &channels(&["x", "y"])), change(&["x", "y"], &[]));
    assert_eq!(table.set("b", &channels(&["x"])), change(&[], &[]));
    assert_eq!(table.set("a", &channels(&["y", "z"])), change(&["z"], &[]), "x stays for b");
    assert_eq!(table.remove("b"), change(&[], &["x"]));
    assert_eq!(table.remove("a"), change(&[], &["y", "z"]));
    assert_eq!(table.channels().count(), 0);
}

#[test]
fn repeated_channels_and_unknown_tabs_change_nothing() {
    let mut table = Subscriptions::default();
    assert_eq!(table.set("a", &channels(&["x", "x"])), change(&["x"], &[]));
    assert_eq!(table.set("a", &channels(&["x"])), change(&[], &[]));
    assert_eq!(table.remove("nobody"), change(&[], &[]));
    assert!(table.knows("a") && !table.knows("nobody"));
    assert_eq!(table.set("c", &[]), change(&[], &[]));
    assert!(table.knows("c"), "a tab without channels is known too");
    table.clear();
    assert!(!table.knows("a"));
    assert_eq!(table.channels().count(), 0);
}
