//! The [`MemoryStore`](super::MemoryStore)'s shards: the records by key,
//! and the per-user index, each slot as small as it can be (issue #19: at
//! a million sessions the slots were half of a session's memory).

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

use super::super::{SessionKey, SessionRecord};
use crate::prehashed::PreHashed;

/// The 63 bits of a key that the user index keeps for it: its first eight
/// bytes, top bit dropped (it marks [`SEVERAL`]). Keys are SHA-256 outputs
/// of server-drawn IDs, so these bits are uniform, and a shard holds at
/// most one record per fragment (`create` refuses a second as a
/// collision: two server-drawn keys share one with probability 2^-63).
pub(super) fn fragment(key: &SessionKey) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&key.as_bytes()[..8]);
    u64::from_le_bytes(b) >> 1
}

/// The table hash of a fragment: a multiply spreads every bit into the
/// top seven the table tags slots with (the fragment's own top bit is
/// always clear, and bits 40.. pick the shard).
fn slot_hash(fragment: u64) -> u64 {
    fragment.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The shard of ten uniform bits. Shard `i` takes a share of the values
/// that grows with `i` (as 2^(i/64): from 11 of the 1,024 to 22), so the
/// shards' tables, which double when full, never all double at once: at
/// any number of records the table slots cost the average over a
/// doubling (about 1.65 slots per entry) instead of swinging between 1.14
/// and 2.29 in step, as equal shards do (2.1 at a million sessions).
pub(super) fn shard(bits: u64) -> usize {
    // Truncation is intended: ten bits pick the shard.
    #[allow(clippy::cast_possible_truncation)]
    let x = (bits & 1023) as usize;
    usize::from(SHARD_OF[x])
}

/// The number of shards [`shard`] picks from.
pub(super) const SHARDS: usize = 64;

const SHARD_OF: [u8; 1024] = shard_table();

#[allow(clippy::cast_possible_truncation)]
const fn shard_table() -> [u8; 1024] {
    // 2^(1/64) in 32-bit fixed point.
    const STEP: u128 = 4_341_736_423;
    let mut table = [0u8; 1024];
    let mut growth: u128 = 1 << 32;
    let (mut i, mut start) = (0, 0);
    while i < SHARDS {
        growth = (growth * STEP) >> 32;
        let end = if i == SHARDS - 1 {
            1024
        } else {
            (((growth - (1 << 32)) * 1024) >> 32) as usize
        };
        while start < end {
            table[start] = i as u8;
            start += 1;
        }
        i += 1;
    }
    table
}

fn held(r: &SessionRecord) -> &SessionKey {
    &r.held_key.0
}

fn rehash(r: &Arc<SessionRecord>) -> u64 {
    slot_hash(fragment(held(r)))
}

/// One shard of records. A slot is one pointer: the record holds its key.
#[derive(Default)]
pub(super) struct RecordShard {
    records: HashTable<Arc<SessionRecord>>,
    pub(super) next_sweep: u64,
    pub(super) shared: Interner,
}

impl RecordShard {
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    pub(super) fn get(&self, key: &SessionKey) -> Option<&Arc<SessionRecord>> {
        self.records
            .find(slot_hash(fragment(key)), |r| held(r) == key)
    }

    pub(super) fn get_mut(&mut self, key: &SessionKey) -> Option<&mut Arc<SessionRecord>> {
        self.records
            .find_mut(slot_hash(fragment(key)), |r| held(r) == key)
    }

    /// The record whose key has `fragment` (at most one: see [`fragment`]).
    pub(super) fn by_fragment(&self, fragment: u64) -> Option<&Arc<SessionRecord>> {
        self.records
            .find(slot_hash(fragment), |r| self::fragment(held(r)) == fragment)
    }

    /// Puts `record` (holding its key) in the slot of its fragment; returns
    /// the record that held the slot.
    pub(super) fn put(&mut self, record: Arc<SessionRecord>) -> Option<Arc<SessionRecord>> {
        let f = fragment(held(&record));
        match self
            .records
            .entry(slot_hash(f), |r| fragment(held(r)) == f, rehash)
        {
            Entry::Occupied(mut e) => Some(std::mem::replace(e.get_mut(), record)),
            Entry::Vacant(e) => {
                e.insert(record);
                None
            }
        }
    }

    pub(super) fn remove(&mut self, key: &SessionKey) -> Option<Arc<SessionRecord>> {
        self.records
            .find_entry(slot_hash(fragment(key)), |r| held(r) == key)
            .ok()
            .map(|e| e.remove().0)
    }

    /// Removes the record with `fragment` if `pred` accepts it; `None`
    /// when there is none, `Some(None)` when `pred` refused it.
    pub(super) fn remove_fragment_if(
        &mut self,
        fragment: u64,
        pred: impl FnOnce(&SessionRecord) -> bool,
    ) -> Option<Option<Arc<SessionRecord>>> {
        let e = self
            .records
            .find_entry(slot_hash(fragment), |r| self::fragment(held(r)) == fragment)
            .ok()?;
        Some(pred(e.get()).then(|| e.remove().0))
    }

    /// Keeps the records `keep` accepts.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&SessionRecord) -> bool) {
        self.records.retain(|r| keep(r));
    }
}

type Fragments = HashSet<u64, BuildHasherDefault<PreHashed>>;

/// In [`UserEntry::keys`]: the user has several keys, in
/// [`UserShard::several`].
const SEVERAL: u64 = 1 << 63;

/// One user: a keyed 64-bit hash of the ID (the ID itself lives only in
/// the records) and the fragment of their one key, or [`SEVERAL`].
struct UserEntry {
    user: u64,
    keys: u64,
}

/// One shard of the per-user index. A user with one session costs one
/// 16-byte slot; only a user's second session allocates. Two IDs whose
/// hashes collide share an entry; every reader checks the record's
/// `user_id`, so they never see each other's sessions.
#[derive(Default)]
pub(super) struct UserShard {
    entries: HashTable<UserEntry>,
    several: HashMap<u64, Fragments, BuildHasherDefault<PreHashed>>,
}

impl UserShard {
    pub(super) fn insert(&mut self, user: u64, fragment: u64) {
        match self.entries.entry(user, |e| e.user == user, |e| e.user) {
            Entry::Vacant(e) => {
                e.insert(UserEntry {
                    user,
                    keys: fragment,
                });
            }
            Entry::Occupied(mut e) => {
                let entry = e.get_mut();
                if entry.keys == SEVERAL {
                    self.several.entry(user).or_default().insert(fragment);
                } else if entry.keys != fragment {
                    let both = Fragments::from_iter([entry.keys, fragment]);
                    self.several.insert(user, both);
                    entry.keys = SEVERAL;
                }
            }
        }
    }

    pub(super) fn remove(&mut self, user: u64, fragment: u64) {
        let Ok(mut e) = self.entries.find_entry(user, |e| e.user == user) else {
            return;
        };
        let keys = e.get().keys;
        if keys == fragment {
            e.remove();
        } else if keys == SEVERAL {
            let Some(set) = self.several.get_mut(&user) else {
                e.remove();
                return;
            };
            set.remove(&fragment);
            // Back to one slot when one key is left.
            let mut left = set.iter().copied();
            match (left.next(), left.next()) {
                (Some(_), Some(_)) => {}
                (one, _) => {
                    self.several.remove(&user);
                    match one {
                        Some(last) => e.get_mut().keys = last,
                        None => {
                            e.remove();
                        }
                    }
                }
            }
        }
    }

    /// The fragments of `user`'s keys.
    pub(super) fn keys(&self, user: u64) -> Vec<u64> {
        match self.entries.find(user, |e| e.user == user) {
            None => Vec::new(),
            Some(e) if e.keys == SEVERAL => self
                .several
                .get(&user)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default(),
            Some(e) => vec![e.keys],
        }
    }

    /// Removes `user`'s entry; returns the fragments it held.
    pub(super) fn take(&mut self, user: u64) -> Vec<u64> {
        let keys = self.keys(user);
        if let Ok(e) = self.entries.find_entry(user, |e| e.user == user) {
            e.remove();
        }
        self.several.remove(&user);
        keys
    }
}

/// One copy of each User-Agent and role set the shard's records hold: most
/// sessions share a handful of each, and a copy of each per session was
/// over a quarter of its memory. Values no record holds any more leave at
/// the shard's sweep.
#[derive(Default)]
pub(super) struct Interner {
    agents: HashSet<Arc<str>>,
    role_sets: HashSet<Arc<[String]>>,
}

impl Interner {
    /// `record` holding the shard's copies of its User-Agent and roles.
    pub(super) fn share(&mut self, record: &mut SessionRecord) {
        if let Some(agent) = &mut record.user_agent {
            *agent = intern(&mut self.agents, agent);
        }
        record.roles = intern(&mut self.role_sets, &record.roles);
    }

    /// Drops the values only the interner still holds.
    pub(super) fn purge(&mut self) {
        self.agents.retain(|a| Arc::strong_count(a) > 1);
        self.role_sets.retain(|r| Arc::strong_count(r) > 1);
    }
}

fn intern<T: ?Sized + std::hash::Hash + Eq>(set: &mut HashSet<Arc<T>>, value: &Arc<T>) -> Arc<T> {
    match set.get(&**value) {
        Some(shared) => Arc::clone(shared),
        None => {
            set.insert(Arc::clone(value));
            Arc::clone(value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shard_takes_a_share_that_grows_with_it() {
        let mut share = [0usize; SHARDS];
        for x in 0..1024 {
            share[shard(x)] += 1;
        }
        // Within a value of 1,024 * (2^(1/64) - 1) * 2^(i/64).
        for (i, &n) in share.iter().enumerate() {
            let want = 11.15 * 2f64.powf(i as f64 / 64.0);
            assert!((n as f64 - want).abs() <= 1.0, "shard {i}: {n}, {share:?}");
        }
    }
}
