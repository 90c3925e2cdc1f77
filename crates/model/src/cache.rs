//! A bounded cache of decoded events (payloads), least recently used out first: the
//! TUI keeps every event's index entry but only this many bytes of payloads.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use super::{Coord, Event};

/// Decoded events take more memory than their raw bytes: this many times, roughly
/// (measured: 114,000 cached events of ~110 raw bytes took ~235 MB, about 2 KB each,
/// with JSON objects kept in order and the allocator's share).
const DECODED_PER_RAW_BYTE: usize = 8;
/// What an event costs besides its bytes (the struct, strings' headers, the maps here).
const PER_EVENT: usize = 1024;

/// The default budget: 64 MB.
pub const DEFAULT_BUDGET: usize = 64 << 20;

/// Events by coordinate, within a byte budget.
#[derive(Debug)]
pub struct PayloadCache {
    budget: usize,
    used: usize,
    tick: u64,
    events: HashMap<Coord, (Rc<Event>, u64)>,
    /// Last use → coordinate: the first entry is the one to evict.
    by_use: BTreeMap<u64, Coord>,
}

impl Default for PayloadCache {
    fn default() -> PayloadCache {
        PayloadCache::new(DEFAULT_BUDGET)
    }
}

impl PayloadCache {
    pub fn new(budget_bytes: usize) -> PayloadCache {
        PayloadCache {
            budget: budget_bytes,
            used: 0,
            tick: 0,
            events: HashMap::new(),
            by_use: BTreeMap::new(),
        }
    }

    fn cost(e: &Event) -> usize {
        e.size * DECODED_PER_RAW_BYTE + PER_EVENT
    }

    /// The event at `at`, if cached; it becomes the most recently used.
    pub fn get(&mut self, at: Coord) -> Option<Rc<Event>> {
        self.tick += 1;
        let tick = self.tick;
        let (event, used) = self.events.get_mut(&at)?;
        self.by_use.remove(used);
        *used = tick;
        self.by_use.insert(tick, at);
        Some(event.clone())
    }

    /// The event at `at` without touching its place in line (for drawing).
    pub fn peek(&self, at: Coord) -> Option<&Rc<Event>> {
        self.events.get(&at).map(|(e, _)| e)
    }

    /// Keeps an event, evicting the least recently used ones beyond the budget (the
    /// newest always stays).
    pub fn insert(&mut self, event: Rc<Event>) {
        let at = event.coord();
        self.remove(at);
        self.tick += 1;
        self.used += Self::cost(&event);
        self.by_use.insert(self.tick, at);
        self.events.insert(at, (event, self.tick));
        while self.used > self.budget && self.events.len() > 1 {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            if let Some((e, _)) = self.events.remove(&oldest) {
                self.used -= Self::cost(&e);
            }
        }
    }

    fn remove(&mut self, at: Coord) {
        if let Some((e, used)) = self.events.remove(&at) {
            self.by_use.remove(&used);
            self.used -= Self::cost(&e);
        }
    }

    /// Bytes held (estimated), and the budget.
    pub fn used(&self) -> (usize, usize) {
        (self.used, self.budget)
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::RawRecord;
    use crate::TopicRules;

    fn event(offset: i64, bytes: usize) -> Rc<Event> {
        let value = "x".repeat(bytes);
        let raw = RawRecord {
            topic: "t",
            offset,
            value: Some(value.as_bytes()),
            ..Default::default()
        };
        Rc::new(Event::decode(&raw, &TopicRules::default()))
    }

    #[test]
    fn the_least_recently_used_go_first_and_the_budget_holds() {
        let cost = PayloadCache::cost(&event(0, 100));
        let mut cache = PayloadCache::new(cost * 3);
        for o in 0..3 {
            cache.insert(event(o, 100));
        }
        let at = |offset| Coord {
            partition: 0,
            offset,
        };
        assert!(cache.get(at(0)).is_some()); // 0 is now the most recent
        cache.insert(event(3, 100)); // evicts 1, the least recently used
        assert!(cache.peek(at(1)).is_none());
        assert!(
            cache.peek(at(0)).is_some()
                && cache.peek(at(2)).is_some()
                && cache.peek(at(3)).is_some()
        );
        assert!(cache.used().0 <= cache.used().1);
        // Re-inserting does not count twice.
        cache.insert(event(3, 100));
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.used().0, cost * 3);
        // One event bigger than the budget is still kept (the newest always stays).
        cache.insert(event(9, 10_000));
        assert_eq!(cache.len(), 1);
    }
}
