//! The ACL user store and its rules engine (Redis 7.0 semantics, without selectors).
//!
//! A user is an immutable snapshot (`Arc<User>`); ACL SETUSER builds a modified copy and swaps it
//! in, then bumps a generation counter. Sessions keep their user's snapshot and refresh it when
//! the generation moved, so the check for the default all-permissions user is one atomic load
//! and one flag test.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::glob::glob_match;
use crate::table::{self, CommandDef};

/// Key permission: read.
pub const KEY_READ: u8 = 1;
/// Key permission: write.
pub const KEY_WRITE: u8 = 2;

/// The categories ACL CAT lists, in Redis's order.
pub const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// One user: flags, passwords and permissions.
#[derive(Debug, Clone)]
pub struct User {
    /// The name.
    pub name: String,
    /// `on` / `off`.
    pub enabled: bool,
    /// `nopass`.
    pub nopass: bool,
    /// SHA-256 hex digests of the passwords, in the order added.
    pub passwords: Vec<String>,
    /// The "future commands" bit that `+@all` sets and `-@all` clears.
    pub all_future: bool,
    /// Allowed commands by full name (`get`, `config`, `config|get`).
    pub allowed: BTreeSet<&'static str>,
    /// Allowed first arguments of otherwise denied commands (`+select|0`).
    pub firstargs: BTreeMap<&'static str, Vec<String>>,
    /// `allkeys` / `~*`.
    pub allkeys: bool,
    /// Key patterns with their `KEY_*` permissions.
    pub keys: Vec<(u8, Vec<u8>)>,
    /// `allchannels` / `&*`.
    pub allchannels: bool,
    /// Channel patterns.
    pub channels: Vec<Vec<u8>>,
    /// `sanitize-payload` / `skip-sanitize-payload`, when set (shown only).
    pub payload: Option<&'static str>,
    /// Everything allowed: the fast path of the permission check.
    pub unrestricted: bool,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The command itself (its full name).
    Command(String),
    /// One of its keys.
    Key(Vec<u8>),
    /// One of its channels.
    Channel(Vec<u8>),
}

impl Denied {
    /// The error reply Redis sends.
    pub fn message(&self) -> String {
        match self {
            Denied::Command(c) => {
                format!("NOPERM this user has no permissions to run the '{c}' command")
            }
            Denied::Key(_) => {
                "NOPERM this user has no permissions to access one of the keys used as arguments"
                    .into()
            }
            Denied::Channel(_) => "NOPERM this user has no permissions to access one of the channels used as arguments".into(),
        }
    }
}

/// Every command name a permission bit exists for: each top-level command, then its subcommands.
fn universe() -> &'static Vec<&'static CommandDef> {
    static U: std::sync::OnceLock<Vec<&'static CommandDef>> = std::sync::OnceLock::new();
    U.get_or_init(|| {
        let mut v = Vec::new();
        for c in table::all() {
            v.push(c);
            let mut subs: Vec<&'static CommandDef> = c.subcommands.iter().collect();
            subs.sort_by_key(|s| s.name);
            v.extend(subs);
        }
        v
    })
}

fn in_category(def: &CommandDef, cat: &str) -> bool {
    def.acl_categories()
        .iter()
        .any(|c| c.strip_prefix('@') == Some(cat))
}

/// Full names of the commands (and subcommands) in a category, as ACL CAT lists them.
pub fn category_commands(cat: &str) -> Vec<&'static str> {
    universe()
        .iter()
        .filter(|d| in_category(d, cat))
        .map(|d| d.name)
        .collect()
}

/// Lower-case hex SHA-256 of a password.
pub fn hash_password(p: &[u8]) -> String {
    sha256(p).iter().map(|b| format!("{b:02x}")).collect()
}

/// An error of one SETUSER modifier (Redis's errno texts).
fn rule_err(msg: &str) -> String {
    msg.to_string()
}

const E_NOENT: &str = "Unknown command or category name in ACL";
const E_INVAL: &str = "Syntax error";
const E_NODEV: &str = "The password you are trying to remove from the user does not exist";
const E_BADMSG: &str =
    "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
const E_KEYS_ALREADY: &str = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
const E_CHANNELS_ALREADY: &str = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";

impl User {
    /// A new user as ACL SETUSER creates it: off, no passwords, no keys, `resetchannels -@all`.
    pub fn new(name: &str) -> User {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            passwords: Vec::new(),
            all_future: false,
            allowed: BTreeSet::new(),
            firstargs: BTreeMap::new(),
            allkeys: false,
            keys: Vec::new(),
            allchannels: false,
            channels: Vec::new(),
            payload: None,
            unrestricted: false,
        }
    }

    /// The default user of a fresh server: `on nopass ~* &* +@all`.
    pub fn default_user() -> User {
        let mut u = User::new("default");
        for r in ["on", "nopass", "~*", "&*", "+@all"] {
            let _ = u.apply(r.as_bytes());
        }
        u
    }

    fn refresh(&mut self) {
        self.unrestricted = self.allkeys
            && self.allchannels
            && universe().iter().all(|d| self.allowed.contains(d.name));
    }

    fn set_cmd(&mut self, def: &'static CommandDef, on: bool) {
        let mut names = vec![def.name];
        names.extend(def.subcommands.iter().map(|s| s.name));
        for n in names {
            self.firstargs.remove(n);
            if on {
                self.allowed.insert(n);
            } else {
                self.allowed.remove(n);
            }
        }
    }

    fn set_category(&mut self, cat: &str, on: bool) -> Result<(), String> {
        if cat == "all" {
            self.all_future = on;
            for d in universe() {
                self.set_cmd(d, on);
            }
            return Ok(());
        }
        if !CATEGORIES.contains(&cat) {
            return Err(rule_err(E_NOENT));
        }
        for d in universe() {
            if in_category(d, cat) {
                self.set_cmd(d, on);
            }
        }
        Ok(())
    }

    /// Applies one rule. The error is the text after `Error in ACL SETUSER modifier '...': `.
    pub fn apply(&mut self, rule: &[u8]) -> Result<(), String> {
        let r = std::str::from_utf8(rule).map_err(|_| rule_err(E_INVAL))?;
        let lower = r.to_ascii_lowercase();
        match lower.as_str() {
            "on" => self.enabled = true,
            "off" => self.enabled = false,
            "nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            "resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
            "allkeys" => self.set_allkeys(),
            "resetkeys" => {
                self.allkeys = false;
                self.keys.clear();
            }
            "allchannels" => {
                self.allchannels = true;
                self.channels.clear();
            }
            "resetchannels" => {
                self.allchannels = false;
                self.channels.clear();
            }
            "allcommands" => self.set_category("all", true)?,
            "nocommands" => self.set_category("all", false)?,
            "reset" => {
                for x in [
                    "resetpass",
                    "resetkeys",
                    "resetchannels",
                    "off",
                    "-@all",
                    "sanitize-payload",
                ] {
                    self.apply(x.as_bytes())?;
                }
            }
            "sanitize-payload" => self.payload = Some("sanitize-payload"),
            "skip-sanitize-payload" => self.payload = Some("skip-sanitize-payload"),
            _ => self.apply_prefixed(r, rule)?,
        }
        self.refresh();
        Ok(())
    }

    fn set_allkeys(&mut self) {
        self.allkeys = true;
        self.keys.clear();
    }

    fn add_password_hash(&mut self, h: String) {
        self.nopass = false;
        if !self.passwords.contains(&h) {
            self.passwords.push(h);
        }
    }

    fn apply_prefixed(&mut self, r: &str, rule: &[u8]) -> Result<(), String> {
        let Some(&first) = rule.first() else {
            return Err(rule_err(E_INVAL));
        };
        let rest = &rule[1..];
        match first {
            b'>' => self.add_password_hash(hash_password(rest)),
            b'<' => {
                let h = hash_password(rest);
                let before = self.passwords.len();
                self.passwords.retain(|p| *p != h);
                if self.passwords.len() == before {
                    return Err(rule_err(E_NODEV));
                }
            }
            b'#' | b'!' => {
                let h = &r[1..];
                if h.len() != 64 || !h.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
                    return Err(rule_err(E_BADMSG));
                }
                if first == b'#' {
                    self.add_password_hash(h.to_string());
                } else {
                    let before = self.passwords.len();
                    self.passwords.retain(|p| p != h);
                    if self.passwords.len() == before {
                        return Err(rule_err(E_NODEV));
                    }
                }
            }
            b'~' => self.add_key_pattern(KEY_READ | KEY_WRITE, rest)?,
            b'%' => {
                let tilde = rule
                    .iter()
                    .position(|&c| c == b'~')
                    .ok_or_else(|| rule_err(E_INVAL))?;
                let mut flags = 0;
                for &c in &rule[1..tilde] {
                    match c.to_ascii_uppercase() {
                        b'R' => flags |= KEY_READ,
                        b'W' => flags |= KEY_WRITE,
                        _ => return Err(rule_err(E_INVAL)),
                    }
                }
                if flags == 0 {
                    return Err(rule_err(E_INVAL));
                }
                self.add_key_pattern(flags, &rule[tilde + 1..])?;
            }
            b'&' => {
                if rest == b"*" {
                    self.allchannels = true;
                    self.channels.clear();
                } else if self.allchannels {
                    return Err(rule_err(E_CHANNELS_ALREADY));
                } else if !self.channels.iter().any(|c| c == rest) {
                    self.channels.push(rest.to_vec());
                }
            }
            b'+' | b'-' => self.apply_command_rule(first == b'+', &r[1..])?,
            _ => return Err(rule_err(E_INVAL)),
        }
        Ok(())
    }

    fn add_key_pattern(&mut self, flags: u8, pat: &[u8]) -> Result<(), String> {
        if pat == b"*" && flags == KEY_READ | KEY_WRITE {
            self.set_allkeys();
            return Ok(());
        }
        if self.allkeys {
            return Err(rule_err(E_KEYS_ALREADY));
        }
        if let Some(p) = self.keys.iter_mut().find(|(_, p)| p == pat) {
            p.0 |= flags;
        } else {
            self.keys.push((flags, pat.to_vec()));
        }
        Ok(())
    }

    fn apply_command_rule(&mut self, on: bool, what: &str) -> Result<(), String> {
        if let Some(cat) = what.strip_prefix('@') {
            return self.set_category(&cat.to_ascii_lowercase(), on);
        }
        let mut parts = what.splitn(2, '|');
        let name = parts.next().unwrap_or_default();
        let def = table::lookup(name.as_bytes()).ok_or_else(|| rule_err(E_NOENT))?;
        match parts.next() {
            None => self.set_cmd(def, on),
            Some(sub) if !def.subcommands.is_empty() => {
                if sub.contains('|') {
                    return Err(rule_err(E_INVAL));
                }
                let full = format!("{}|{}", def.name, sub.to_ascii_lowercase());
                let s = def
                    .subcommands
                    .iter()
                    .find(|s| s.name == full)
                    .ok_or_else(|| rule_err(E_NOENT))?;
                self.set_cmd(s, on);
            }
            Some(arg) => {
                // First-arg rules on plain commands: allowed as an addition only.
                if !on || arg.is_empty() || arg.contains('|') {
                    return Err(rule_err(E_INVAL));
                }
                if !self.allowed.contains(def.name) {
                    let v = self.firstargs.entry(def.name).or_default();
                    if !v.iter().any(|a| a.eq_ignore_ascii_case(arg)) {
                        v.push(arg.to_string());
                    }
                }
            }
        }
        Ok(())
    }

    /// The command rules, described as Redis 7.0 does: `+@all`/`-@all`, the best-fitting
    /// categories, then single commands (in name order) to fix the difference.
    pub fn describe_commands(&self) -> String {
        let mut fake = User::new("");
        let additive = !self.all_future;
        let mut out = String::from(if additive { "-@all" } else { "+@all" });
        if !additive {
            let _ = fake.set_category("all", true);
        }
        // Redis's best fit: repeatedly take the category with the fewest differences (then
        // the most matches) that matches more than it differs, and take it out of a copy.
        let tops: Vec<&CommandDef> = table::all();
        let mut temp = self.clone();
        loop {
            let mut best: Option<(&str, usize, usize)> = None;
            for cat in CATEGORIES {
                let (mut on, mut off) = (0, 0);
                for d in tops.iter().filter(|d| in_category(d, cat)) {
                    if temp.allowed.contains(d.name) {
                        on += 1;
                    } else {
                        off += 1;
                    }
                }
                let (same, diff) = if additive { (on, off) } else { (off, on) };
                let better = best.is_none_or(|(_, md, ms)| diff < md || (diff == md && same > ms));
                if same > diff && better {
                    best = Some((cat, diff, same));
                }
            }
            let Some((cat, _, _)) = best else { break };
            let _ = fake.set_category(cat, additive);
            let _ = temp.set_category(cat, !additive);
            out.push_str(if additive { " +@" } else { " -@" });
            out.push_str(cat);
        }
        for d in universe() {
            let mine = self.allowed.contains(d.name);
            if mine != fake.allowed.contains(d.name) {
                out.push_str(if mine { " +" } else { " -" });
                out.push_str(d.name);
            }
        }
        for (cmd, args) in &self.firstargs {
            for a in args {
                out.push_str(&format!(" +{cmd}|{a}"));
            }
        }
        out
    }

    /// The key patterns as GETUSER shows them (`~*`, `~a %R~b`).
    pub fn describe_keys(&self) -> String {
        if self.allkeys {
            return "~*".into();
        }
        let v: Vec<String> = self
            .keys
            .iter()
            .map(|(f, p)| {
                let prefix = match *f {
                    KEY_READ => "%R~",
                    KEY_WRITE => "%W~",
                    _ => "~",
                };
                format!("{prefix}{}", String::from_utf8_lossy(p))
            })
            .collect();
        v.join(" ")
    }

    /// The channel patterns as GETUSER shows them.
    pub fn describe_channels(&self) -> String {
        if self.allchannels {
            return "&*".into();
        }
        let v: Vec<String> = self
            .channels
            .iter()
            .map(|c| format!("&{}", String::from_utf8_lossy(c)))
            .collect();
        v.join(" ")
    }

    /// The user as an ACL LIST / aclfile line.
    pub fn describe(&self) -> String {
        let mut parts = vec![
            format!("user {}", self.name),
            if self.enabled { "on" } else { "off" }.to_string(),
        ];
        if self.nopass {
            parts.push("nopass".into());
        }
        parts.extend(self.payload.map(String::from));
        parts.extend(self.passwords.iter().map(|p| format!("#{p}")));
        let k = self.describe_keys();
        if !k.is_empty() {
            parts.push(k);
        }
        if !self.allchannels {
            parts.push("resetchannels".into());
        }
        let c = self.describe_channels();
        if !c.is_empty() {
            parts.push(c);
        }
        parts.push(self.describe_commands());
        parts.join(" ")
    }

    /// Whether a password opens this user.
    pub fn password_ok(&self, pass: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let h = hash_password(pass);
        self.passwords.contains(&h)
    }

    /// Checks a command with its arguments against the permissions (`def` is the resolved
    /// subcommand for containers).
    pub fn check(&self, def: &CommandDef, args: &[Bytes]) -> Result<(), Denied> {
        if self.unrestricted || def.has(table::flags::NO_AUTH) {
            return Ok(());
        }
        if !self.allowed.contains(def.name) {
            let by_arg = args.get(1).is_some_and(|a| {
                self.firstargs
                    .get(def.name)
                    .is_some_and(|v| v.iter().any(|x| x.as_bytes().eq_ignore_ascii_case(a)))
            });
            if !by_arg {
                return Err(Denied::Command(def.name.to_string()));
            }
        }
        if !self.allkeys {
            let need = if def.has(table::flags::READONLY) {
                KEY_READ
            } else if def.has(table::flags::WRITE) {
                KEY_WRITE
            } else {
                KEY_READ | KEY_WRITE
            };
            for k in def.keys.of(args) {
                let ok = self
                    .keys
                    .iter()
                    .any(|(f, p)| f & need == need && glob_match(p, k, false));
                if !ok {
                    return Err(Denied::Key(k.to_vec()));
                }
            }
        }
        if !self.allchannels {
            let (chans, literal): (&[Bytes], bool) = match def.name {
                "publish" | "spublish" => (args.get(1..2).unwrap_or(&[]), false),
                "subscribe" | "ssubscribe" => (args.get(1..).unwrap_or(&[]), false),
                "psubscribe" => (args.get(1..).unwrap_or(&[]), true),
                _ => (&[], false),
            };
            for ch in chans {
                let ok = self.channels.iter().any(|p| {
                    if literal {
                        p[..] == ch[..]
                    } else {
                        glob_match(p, ch, false)
                    }
                });
                if !ok {
                    return Err(Denied::Channel(ch.to_vec()));
                }
            }
        }
        Ok(())
    }
}

/// One ACL LOG entry.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// How many times it happened (similar entries within 60 s are merged).
    pub count: u64,
    /// `command`, `key`, `channel` or `auth`.
    pub reason: &'static str,
    /// `toplevel` or `multi`.
    pub context: &'static str,
    /// The command, key, channel or `AUTH`.
    pub object: String,
    /// The user.
    pub username: String,
    /// When it last happened (ms since the epoch).
    pub ctime_ms: u64,
    /// CLIENT INFO of the client, at the last occurrence.
    pub client_info: String,
}

/// The server's users, the ACL log and the generation that sessions compare.
#[derive(Debug)]
pub struct Acl {
    users: RwLock<BTreeMap<String, Arc<User>>>,
    generation: AtomicU64,
    log: Mutex<VecDeque<LogEntry>>,
}

impl Default for Acl {
    fn default() -> Self {
        Acl::new()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Entries ACL LOG keeps (Redis's `acllog-max-len` default).
const LOG_MAX: usize = 128;

impl Acl {
    /// A store with only the default user.
    pub fn new() -> Acl {
        let mut m = BTreeMap::new();
        m.insert("default".to_string(), Arc::new(User::default_user()));
        Acl {
            users: RwLock::new(m),
            generation: AtomicU64::new(1),
            log: Mutex::new(VecDeque::new()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<User>>> {
        self.users.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<User>>> {
        self.users.write().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Changes whenever any user changes.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A user's current snapshot.
    pub fn get(&self, name: &str) -> Option<Arc<User>> {
        self.read().get(name).cloned()
    }

    /// Every user, by name.
    pub fn users(&self) -> Vec<Arc<User>> {
        self.read().values().cloned().collect()
    }

    /// Whether new connections start authenticated (default user `on` and `nopass`).
    pub fn default_auto_auth(&self) -> bool {
        self.get("default").is_some_and(|u| u.enabled && u.nopass)
    }

    /// Whether the default user has `nopass` (protected mode then applies).
    pub fn default_nopass(&self) -> bool {
        self.get("default").is_some_and(|u| u.nopass)
    }

    /// Applies rules to a user (created if missing), all or nothing. The error is Redis's
    /// `Error in ACL SETUSER modifier ...` text without the `ERR `.
    pub fn setuser(&self, name: &str, rules: &[Bytes]) -> Result<(), String> {
        let mut m = self.write();
        let mut u = m
            .get(name)
            .map_or_else(|| User::new(name), |u| User::clone(u));
        for r in rules {
            u.apply(r).map_err(|e| {
                format!(
                    "Error in ACL SETUSER modifier '{}': {e}",
                    String::from_utf8_lossy(r)
                )
            })?;
        }
        m.insert(name.to_string(), Arc::new(u));
        drop(m);
        self.bump();
        Ok(())
    }

    /// Deletes users; returns how many existed. `default` must be filtered by the caller.
    pub fn deluser(&self, names: &[String]) -> usize {
        let mut m = self.write();
        let n = names.iter().filter(|n| m.remove(*n).is_some()).count();
        drop(m);
        self.bump();
        n
    }

    /// `requirepass`: sets the default user's only password, or `nopass` when empty.
    pub fn set_default_password(&self, pass: &str) {
        let rules: Vec<Bytes> = if pass.is_empty() {
            vec![Bytes::from_static(b"nopass")]
        } else {
            vec![
                Bytes::from_static(b"resetpass"),
                Bytes::from(format!(">{pass}")),
            ]
        };
        let _ = self.setuser("default", &rules);
    }

    /// Checks credentials; returns the user on success.
    pub fn authenticate(&self, user: &[u8], pass: &[u8]) -> Option<Arc<User>> {
        let name = std::str::from_utf8(user).ok()?;
        self.get(name).filter(|u| u.password_ok(pass))
    }

    /// The ACL LIST lines.
    pub fn list(&self) -> Vec<String> {
        self.read().values().map(|u| u.describe()).collect()
    }

    /// Parses aclfile text and replaces every user with its contents (all or nothing). A file
    /// that does not define `default` keeps the current default user.
    pub fn load_text(&self, text: &str, path: &str) -> Result<(), String> {
        let mut fresh: BTreeMap<String, Arc<User>> = BTreeMap::new();
        let mut errors = String::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_ascii_whitespace().collect();
            let lineno = i + 1;
            if words.first() != Some(&"user") || words.len() < 2 {
                errors.push_str(&format!(
                    "{path}:{lineno}: line should start with user keyword. "
                ));
                continue;
            }
            let name = words[1];
            if fresh.contains_key(name) {
                errors.push_str(&format!("{path}:{lineno}: Duplicate user '{name}' found. "));
                continue;
            }
            let mut u = User::new(name);
            for w in &words[2..] {
                if let Err(e) = u.apply(w.as_bytes()) {
                    errors.push_str(&format!("{path}:{lineno}: {e}. "));
                    break;
                }
            }
            fresh.insert(name.to_string(), Arc::new(u));
        }
        if !errors.is_empty() {
            return Err(errors.trim_end().to_string());
        }
        let mut m = self.write();
        if !fresh.contains_key("default") {
            let d = m
                .get("default")
                .cloned()
                .unwrap_or_else(|| Arc::new(User::default_user()));
            fresh.insert("default".into(), d);
        }
        *m = fresh;
        drop(m);
        self.bump();
        Ok(())
    }

    /// Records a denial or an auth failure in the ACL log.
    pub fn log(
        &self,
        reason: &'static str,
        context: &'static str,
        object: String,
        username: String,
        client_info: String,
    ) {
        let now = now_ms();
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = log.iter_mut().find(|e| {
            e.reason == reason
                && e.context == context
                && e.object == object
                && e.username == username
                && now.saturating_sub(e.ctime_ms) < 60_000
        }) {
            e.count += 1;
            e.ctime_ms = now;
            e.client_info = client_info;
            return;
        }
        log.push_front(LogEntry {
            count: 1,
            reason,
            context,
            object,
            username,
            ctime_ms: now,
            client_info,
        });
        log.truncate(LOG_MAX);
    }

    /// The newest `count` log entries, newest first.
    pub fn log_entries(&self, count: usize) -> Vec<LogEntry> {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.make_contiguous();
        log.iter().take(count).cloned().collect()
    }

    /// ACL LOG RESET.
    pub fn log_reset(&self) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// SHA-256 (FIPS 180-4), for password hashes.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for chunk in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, b) in chunk.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (i, v) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known() {
        assert_eq!(
            hash_password(b"a"),
            "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
        );
        assert_eq!(
            hash_password(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn describe_and_errors() {
        let acl = Acl::new();
        assert_eq!(acl.list(), vec!["user default on nopass ~* &* +@all"]);
        let r = |s: &[&str]| -> Vec<Bytes> {
            s.iter()
                .map(|x| Bytes::copy_from_slice(x.as_bytes()))
                .collect()
        };
        acl.setuser("bob", &[]).expect("ok");
        assert_eq!(
            acl.get("bob").expect("bob").describe(),
            "user bob off resetchannels -@all"
        );
        acl.setuser(
            "z",
            &r(&["on", "nopass", "+@all", "-get", "~a", "%W~b", "%RW~c"]),
        )
        .expect("ok");
        assert_eq!(
            acl.get("z").expect("z").describe(),
            "user z on nopass ~a %W~b ~c resetchannels +@all -get"
        );
        assert_eq!(
            acl.setuser("w", &r(&["~*", "~x"])),
            Err(format!(
                "Error in ACL SETUSER modifier '~x': {E_KEYS_ALREADY}"
            ))
        );
        assert_eq!(
            acl.setuser("w", &r(&["+nosuch"])),
            Err(format!(
                "Error in ACL SETUSER modifier '+nosuch': {E_NOENT}"
            ))
        );
        assert!(acl.get("w").is_none());
    }
}
