//! Glob-style matching with Redis's `stringmatchlen` semantics, for KEYS, SCAN MATCH and the
//! other pattern arguments (CONFIG GET, PUBSUB CHANNELS, ...).
//!
//! Pattern syntax: `*` any run of bytes, `?` one byte, `[abc]` a set, `[^abc]` its complement,
//! `[a-z]` a range (reversed ranges such as `[z-a]` work), `\x` the byte `x` literally (also
//! inside sets). Quirks kept on purpose, so that replies match Redis byte for byte:
//! - an unterminated set (`[abc`) ends at the end of the pattern;
//! - `[]` is an empty set and matches nothing (`[^]` matches any byte);
//! - a `-` right before the closing `]` makes `]` the end of a range (`[a-]`), as in Redis;
//! - with `nocase`, escaped bytes inside a set still compare case-sensitively;
//! - the empty string is matched only by the empty pattern (Redis's loop never runs on an empty
//!   subject, so even `*` does not match `""`; KEYS and SCAN special-case the pattern `*`).
//!
//! Redis matches recursively and bounds the nesting. This matcher is iterative with a single
//! star resume point: after a later `*` is reached, earlier stars never need to be revisited
//! (any longer match for them could be absorbed by the later star), so the cost is at most
//! O(pattern × subject) and a pathological pattern such as `a*a*a*a*...b` cannot blow up.

/// Whether `s` matches the glob `pattern` (Redis `stringmatchlen`).
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    if s.is_empty() {
        return pattern.is_empty();
    }
    let mut p = 0;
    let mut i = 0;
    // Where to resume after a mismatch: the pattern index just past the last star seen, and the
    // subject index that star's match currently ends at.
    let mut resume: Option<(usize, usize)> = None;
    loop {
        let Some(&c) = s.get(i) else {
            // Subject consumed: only stars may remain.
            while pattern.get(p) == Some(&b'*') {
                p += 1;
            }
            return p == pattern.len();
        };
        if pattern.get(p) == Some(&b'*') {
            while pattern.get(p) == Some(&b'*') {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
            resume = Some((p, i));
            continue;
        }
        if p < pattern.len() {
            let (matched, next) = match_one(pattern, p, c, nocase);
            if matched {
                p = next;
                i += 1;
                continue;
            }
        }
        // Mismatch, or pattern exhausted with subject left: let the last star eat one more byte.
        match resume {
            Some((rp, ri)) => {
                p = rp;
                i = ri + 1;
                resume = Some((rp, ri + 1));
            }
            None => return false,
        }
    }
}

fn fold(b: u8, nocase: bool) -> u8 {
    if nocase {
        b.to_ascii_lowercase()
    } else {
        b
    }
}

/// Matches the single-byte token (`?`, a set, an escape or a literal) at `pattern[p]` against
/// `c`. Returns whether it matched and the index just past the token. `p` is in bounds.
fn match_one(pattern: &[u8], p: usize, c: u8, nocase: bool) -> (bool, usize) {
    let at = |i: usize| pattern.get(i).copied();
    match pattern[p] {
        b'?' => (true, p + 1),
        b'[' => {
            let mut q = p + 1;
            let negate = at(q) == Some(b'^');
            if negate {
                q += 1;
            }
            let mut matched = false;
            while let Some(b) = at(q) {
                let left = pattern.len() - q;
                if b == b'\\' && left >= 2 {
                    q += 1;
                    if at(q) == Some(c) {
                        matched = true;
                    }
                } else if b == b']' {
                    break;
                } else if left >= 3 && at(q + 1) == Some(b'-') {
                    let (mut lo, mut hi) = (b, at(q + 2).unwrap_or(0));
                    if lo > hi {
                        std::mem::swap(&mut lo, &mut hi);
                    }
                    let (lo, hi, x) = (fold(lo, nocase), fold(hi, nocase), fold(c, nocase));
                    if lo <= x && x <= hi {
                        matched = true;
                    }
                    q += 2;
                } else if fold(b, nocase) == fold(c, nocase) {
                    matched = true;
                }
                q += 1;
            }
            // `q` is at the closing `]` (skip it) or at the end of the pattern.
            (matched != negate, (q + 1).min(pattern.len()))
        }
        b'\\' if p + 1 < pattern.len() => (fold(pattern[p + 1], nocase) == fold(c, nocase), p + 2),
        b => (fold(b, nocase) == fold(c, nocase), p + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn literals_and_wildcards() {
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hell"));
        assert!(!m("hell", "hello"));
        assert!(m("h?llo", "hallo"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("*", "anything"));
        assert!(m("**", "x"));
        assert!(m("a*", "a"));
        assert!(m("*a*", "a"));
        assert!(m("*a", "bba"));
        assert!(!m("*a", "bab"));
        assert!(m("a*b*c", "aXbYc"));
        assert!(m("a*b*c", "abbbc"));
        assert!(!m("a*b*c", "acb"));
        assert!(m("*.txt", "notes.txt"));
        assert!(m("user:*:name", "user:42:name"));
        assert!(!m("user:*:name", "user:42:age"));
        assert!(m("*?", "a"));
        assert!(!m("?*?", "a"));
    }

    #[test]
    fn empty_subject_and_pattern() {
        assert!(m("", ""));
        assert!(!m("", "a"));
        // Redis never enters its loop for an empty subject, so `*` does not match "".
        assert!(!m("*", ""));
        assert!(!m("?", ""));
    }

    #[test]
    fn sets_and_ranges() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(m("h[b-a]llo", "hallo"), "reversed range");
        assert!(m("[0-9][0-9]", "42"));
        assert!(!m("[^0-9]", "4"));
        assert!(m("[a\\]]", "]"));
        assert!(m("[\\-]", "-"));
        assert!(!m("[]x", "]x"), "`]` right after `[` closes an empty set");
        assert!(!m("[]", "a"), "an empty set matches nothing");
        assert!(m("[^]", "a"));
        // Unterminated set: ends at the end of the pattern.
        assert!(m("[abc", "b"));
        assert!(!m("[abc", "d"));
        // `-` before `]` makes a range ending at `]`, so the set goes on to the next `]`.
        assert!(m("[a-]x]", "`"));
        assert!(m("[a-]x]", "x"));
        assert!(!m("[a-]x]", "`x"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("a\\?c", "a?c"));
        assert!(!m("a\\?c", "abc"));
        assert!(m("\\[a]", "[a]"));
        assert!(m("a\\", "a\\"), "a trailing backslash is literal");
    }

    #[test]
    fn nocase() {
        assert!(glob_match(b"HeLLo", b"hello", true));
        assert!(!glob_match(b"HeLLo", b"hello", false));
        assert!(glob_match(b"[A-C]x", b"bX", true));
        assert!(glob_match(b"[^A]", b"b", true));
        assert!(!glob_match(b"[^A]", b"a", true));
    }

    #[test]
    fn binary_safe() {
        assert!(glob_match(b"a\0*", b"a\0\xffz", false));
        assert!(glob_match(b"?", b"\0", false));
        assert!(!glob_match(b"a\0", b"a", false));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let pattern = format!("{}b", "a*".repeat(5000));
        let subject = "a".repeat(20_000);
        let start = std::time::Instant::now();
        assert!(!m(&pattern, &subject));
        assert!(m(&"a*".repeat(5000), &subject));
        assert!(start.elapsed().as_secs() < 5);
    }

    #[test]
    fn agrees_with_a_recursive_reference() {
        // A direct port of Redis's recursive matcher, checked on many small random cases.
        fn reference(p: &[u8], s: &[u8]) -> bool {
            fn go(p: &[u8], s: &[u8]) -> bool {
                let (mut p, mut s) = (p, s);
                let at = |x: &[u8], i: usize| x.get(i).copied().unwrap_or(0);
                while !p.is_empty() && !s.is_empty() {
                    match p[0] {
                        b'*' => {
                            while p.len() > 1 && p[1] == b'*' {
                                p = &p[1..];
                            }
                            if p.len() == 1 {
                                return true;
                            }
                            while !s.is_empty() {
                                if go(&p[1..], s) {
                                    return true;
                                }
                                s = &s[1..];
                            }
                            return false;
                        }
                        b'?' => s = &s[1..],
                        b'[' => {
                            p = &p[1..];
                            let not = at(p, 0) == b'^';
                            if not {
                                p = &p[1..];
                            }
                            let mut matched = false;
                            loop {
                                if at(p, 0) == b'\\' && p.len() >= 2 {
                                    p = &p[1..];
                                    if p[0] == s[0] {
                                        matched = true;
                                    }
                                } else if p.is_empty() || p[0] == b']' {
                                    break;
                                } else if p.len() >= 3 && p[1] == b'-' {
                                    let (mut a, mut b) = (p[0], p[2]);
                                    if a > b {
                                        std::mem::swap(&mut a, &mut b);
                                    }
                                    if s[0] >= a && s[0] <= b {
                                        matched = true;
                                    }
                                    p = &p[2..];
                                } else if p[0] == s[0] {
                                    matched = true;
                                }
                                p = &p[1..];
                            }
                            if matched == not {
                                return false;
                            }
                            s = &s[1..];
                            if p.is_empty() {
                                // Unterminated set: Redis steps back, then forward below.
                                return s.is_empty();
                            }
                        }
                        b'\\' if p.len() >= 2 => {
                            p = &p[1..];
                            if p[0] != s[0] {
                                return false;
                            }
                            s = &s[1..];
                        }
                        c => {
                            if c != s[0] {
                                return false;
                            }
                            s = &s[1..];
                        }
                    }
                    p = &p[1..];
                    if s.is_empty() {
                        while at(p, 0) == b'*' && !p.is_empty() {
                            p = &p[1..];
                        }
                        break;
                    }
                }
                p.is_empty() && s.is_empty()
            }
            go(p, s)
        }
        let alphabet = b"ab*?[]^-\\";
        let subjects = b"ab]-^";
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..50_000 {
            let plen = next(7);
            let slen = next(6);
            let p: Vec<u8> = (0..plen).map(|_| alphabet[next(alphabet.len())]).collect();
            let s: Vec<u8> = (0..slen).map(|_| subjects[next(subjects.len())]).collect();
            assert_eq!(
                glob_match(&p, &s, false),
                reference(&p, &s),
                "pattern {:?} subject {:?}",
                String::from_utf8_lossy(&p),
                String::from_utf8_lossy(&s)
            );
        }
    }
}
