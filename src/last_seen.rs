//! The value a thread saw last, shared instead of copied when the next
//! request carries the same bytes: a browser sends one User-Agent on every
//! request, and a service's tokens carry a few role sets. One comparison
//! replaces an allocation per request (issue #19).

use std::cell::RefCell;
use std::sync::Arc;
use std::thread::LocalKey;

/// A thread-local slot holding the last value seen.
pub(crate) type Slot<T> = RefCell<Option<Arc<T>>>;

/// The value in `slot` when `same` says it is equal to the caller's.
pub(crate) fn get<T: ?Sized>(
    slot: &'static LocalKey<Slot<T>>,
    same: impl FnOnce(&T) -> bool,
) -> Option<Arc<T>> {
    // `try_with`/`try_borrow`: never a panic, even while the thread's
    // locals are torn down.
    slot.try_with(|last| {
        let last = last.try_borrow().ok()?;
        last.as_ref().filter(|v| same(v)).cloned()
    })
    .ok()
    .flatten()
}

/// Make `value` the thread's last one in `slot`.
pub(crate) fn set<T: ?Sized>(slot: &'static LocalKey<Slot<T>>, value: &Arc<T>) {
    let _ = slot.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = Some(Arc::clone(value));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static LAST: Slot<str> = const { RefCell::new(None) };
    }

    #[test]
    fn an_equal_value_is_the_same_allocation_and_another_is_not() {
        assert!(get(&LAST, |_| true).is_none());
        let a: Arc<str> = Arc::from("Mozilla/5.0");
        set(&LAST, &a);
        let hit = get(&LAST, |v| v == "Mozilla/5.0").unwrap();
        assert!(Arc::ptr_eq(&hit, &a));
        assert!(get(&LAST, |v| v == "curl/8").is_none());
        // Another thread has its own slot.
        std::thread::spawn(|| assert!(get(&LAST, |_| true).is_none()))
            .join()
            .unwrap();
    }
}
