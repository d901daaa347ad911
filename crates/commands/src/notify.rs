//! Keyspace notifications: the `notify-keyspace-events` flag string, and publishing an event on
//! its `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>` channels.

use strata_keyspace::event_class as c;

use crate::ctx::Host;

pub use strata_keyspace::event_class;

/// The error text after `CONFIG SET failed (possibly related to argument ...) - `.
pub const INVALID_FLAGS: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/// Parses a flag string as Redis does (`keyspaceEventsStringToFlags`); None on an unknown
/// character.
pub fn parse_flags(s: &str) -> Option<u32> {
    let mut flags = 0;
    for ch in s.chars() {
        flags |= match ch {
            'A' => c::ALL,
            'g' => c::GENERIC,
            '$' => c::STRING,
            'l' => c::LIST,
            's' => c::SET,
            'h' => c::HASH,
            'z' => c::ZSET,
            'x' => c::EXPIRED,
            'e' => c::EVICTED,
            'K' => c::KEYSPACE,
            'E' => c::KEYEVENT,
            't' => c::STREAM,
            'm' => c::KEY_MISS,
            'd' => c::MODULE,
            'n' => c::NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// Formats flags the way CONFIG GET prints them (`keyspaceEventsFlagsToString`). As in Redis
/// 7.0, `n` is not printed when every `A` class is set.
pub fn format_flags(flags: u32) -> String {
    let mut s = String::new();
    if flags & c::ALL == c::ALL {
        s.push('A');
    } else {
        for (bit, ch) in [
            (c::GENERIC, 'g'),
            (c::STRING, '$'),
            (c::LIST, 'l'),
            (c::SET, 's'),
            (c::HASH, 'h'),
            (c::ZSET, 'z'),
            (c::EXPIRED, 'x'),
            (c::EVICTED, 'e'),
            (c::STREAM, 't'),
            (c::MODULE, 'd'),
            (c::NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(ch);
            }
        }
    }
    for (bit, ch) in [(c::KEYSPACE, 'K'), (c::KEYEVENT, 'E'), (c::KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(ch);
        }
    }
    s
}

/// Normalises a `notify-keyspace-events` value (CONFIG SET, the config file).
pub fn normalise(v: &str) -> Result<String, String> {
    parse_flags(v)
        .map(format_flags)
        .ok_or_else(|| INVALID_FLAGS.to_string())
}

/// Publishes one event of logical db `db` on the channels `flags` enable (the caller has
/// checked the event's class).
pub fn publish(host: &dyn Host, flags: u32, db: usize, event: &str, key: &[u8]) {
    if flags & c::KEYSPACE != 0 {
        let mut chan = format!("__keyspace@{db}__:").into_bytes();
        chan.extend_from_slice(key);
        host.publish(&chan, event.as_bytes());
    }
    if flags & c::KEYEVENT != 0 {
        let chan = format!("__keyevent@{db}__:{event}");
        host.publish(chan.as_bytes(), key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_as_redis_prints_them() {
        let cases = [
            ("", ""),
            ("KEA", "AKE"),
            ("KEAn", "AKE"),
            ("Kx", "xK"),
            ("AKEm", "AKEm"),
            ("gx$", "g$x"),
            ("Exgl", "glxE"),
            ("g$lshzxetdK", "AK"),
            ("nmE", "nEm"),
        ];
        for (given, shown) in cases {
            assert_eq!(normalise(given).as_deref(), Ok(shown), "{given}");
        }
        assert!(normalise("KEQ").is_err());
        assert!(normalise("k").is_err());
    }
}
