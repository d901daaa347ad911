//! A keyspace on a temp dir and a no-op host, so command families can test their handlers
//! without a server: `let mut env = Env::new(); assert_eq!(env.run(&["SET", "a", "1"]), ok());`

use std::sync::Arc;

use bytes::Bytes;
use strata_keyspace::{Keyspace, KeyspaceOptions};
use strata_resp::Reply;
use strata_storage::{Storage, StorageOptions};

use crate::{execute, CmdError, Host, KillFilter, Session};

/// A host that has no clients, no config and no password.
pub(crate) struct NullHost;

impl Host for NullHost {
    fn config_get(&self, _: &[u8]) -> Vec<(String, String)> {
        Vec::new()
    }
    fn config_set(&self, _: &[(String, String)]) -> Result<(), CmdError> {
        Ok(())
    }
    fn config_rewrite(&self) -> Result<(), CmdError> {
        Ok(())
    }
    fn config_resetstat(&self) {}
    fn info(&self, _: &[String]) -> String {
        String::new()
    }
    fn requirepass(&self) -> Option<String> {
        None
    }
    fn client_list(&self, _: Option<&[u64]>) -> String {
        String::new()
    }
    fn client_update(&self, _: &Session, _: &str) {}
    fn client_kill(&self, _: u64, _: &KillFilter) -> usize {
        0
    }
    fn shutdown(&self) {}
    fn off_worker(&self, f: &mut dyn FnMut()) {
        OFF_WORKER_CALLS.set(OFF_WORKER_CALLS.get() + 1);
        f()
    }
}

thread_local! {
    /// Walks this test thread asked [`NullHost`] to run off the worker.
    static OFF_WORKER_CALLS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A fresh keyspace and one client session.
pub(crate) struct Env {
    _dir: tempfile::TempDir,
    pub ks: Arc<Keyspace>,
    pub session: Session,
    /// When set, the memory tier is dropped before every command (cold mode).
    pub cold: bool,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(&StorageOptions::new(dir.path())).expect("open");
        Env {
            _dir: dir,
            ks: Keyspace::new(storage, KeyspaceOptions::default()),
            session: Session::new(1, true),
            cold: false,
        }
    }

    pub fn cold() -> Env {
        Env {
            cold: true,
            ..Env::new()
        }
    }

    pub fn run(&mut self, args: &[&str]) -> Reply {
        let args: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        self.run_bytes(&args)
    }

    pub fn run_bytes(&mut self, args: &[Bytes]) -> Reply {
        if self.cold {
            self.ks.drop_hot(None, &[]);
        }
        execute(&self.ks, &mut self.session, &NullHost, args).0
    }
}

pub(crate) fn ok() -> Reply {
    Reply::Simple(Bytes::from_static(b"OK"))
}

pub(crate) fn bulk(s: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

pub(crate) fn err(s: &str) -> Reply {
    Reply::Error(Bytes::copy_from_slice(s.as_bytes()))
}

/// Runs `f` once warm and once cold: every assertion must hold in both modes.
pub(crate) fn both(f: impl Fn(&mut Env)) {
    f(&mut Env::new());
    f(&mut Env::cold());
}

#[test]
fn unknown_command_and_arity_texts_match_redis() {
    let mut env = Env::new();
    assert_eq!(
        env.run(&["foo", "a", "b"]),
        err("ERR unknown command 'foo', with args beginning with: 'a' 'b' ")
    );
    assert_eq!(
        env.run(&["GET"]),
        err("ERR wrong number of arguments for 'get' command")
    );
}

/// KEYS, and whole-collection reads and copies (SMEMBERS, HGETALL, the set and sorted-set
/// algebra, SORT, ZRANGE by rank, RENAME, COPY, MOVE) of 1,000 elements or more, ask the host
/// to run their walk off the worker; a string's or a small collection's do not, nor does
/// anything in a pipeline group (whose other members wait for this thread to commit it).
#[test]
fn unbounded_walks_ask_to_leave_the_worker() {
    let mut env = Env::new();
    let run = |env: &mut Env, args: &[&str]| {
        let before = OFF_WORKER_CALLS.get();
        let reply = env.run(args);
        (reply, OFF_WORKER_CALLS.get() - before)
    };
    assert_eq!(run(&mut env, &["SET", "s", "v"]).1, 0);
    assert_eq!(run(&mut env, &["KEYS", "*"]).1, 1);
    assert_eq!(run(&mut env, &["RENAME", "s", "s2"]), (ok(), 0));
    let mut big = vec!["SADD".to_string(), "big".to_string()];
    big.extend((0..1000).map(|i| format!("m{i}")));
    let big: Vec<&str> = big.iter().map(String::as_str).collect();
    assert_eq!(run(&mut env, &big).1, 0);
    assert_eq!(run(&mut env, &["SADD", "small", "a", "b"]).1, 0);
    assert_eq!(run(&mut env, &["RENAME", "small", "small2"]), (ok(), 0));
    assert_eq!(run(&mut env, &["RENAME", "big", "big2"]), (ok(), 1));
    assert_eq!(run(&mut env, &["COPY", "big2", "big3"]), (Reply::Int(1), 1));
    assert_eq!(run(&mut env, &["MOVE", "big3", "1"]), (Reply::Int(1), 1));
    assert_eq!(run(&mut env, &["SCARD", "big2"]).0, Reply::Int(1000));
    assert_eq!(run(&mut env, &["SMEMBERS", "small2"]).1, 0);
    assert_eq!(run(&mut env, &["SMEMBERS", "big2"]).1, 1);
    assert_eq!(run(&mut env, &["SUNION", "small2", "small2"]).1, 0);
    assert_eq!(run(&mut env, &["SUNION", "small2", "big2"]).1, 1);
    assert_eq!(run(&mut env, &["SDIFFSTORE", "d", "big2", "small2"]).1, 1);
    assert_eq!(
        run(&mut env, &["SINTERCARD", "2", "big2", "d"]),
        (Reply::Int(1000), 1)
    );
    let mut hash = vec!["HSET".to_string(), "h".to_string()];
    hash.extend((0..1000).flat_map(|i| [format!("f{i}"), "v".to_string()]));
    let hash: Vec<&str> = hash.iter().map(String::as_str).collect();
    assert_eq!(run(&mut env, &hash), (Reply::Int(1000), 0));
    assert_eq!(run(&mut env, &["HKEYS", "h"]).1, 1);
    assert_eq!(run(&mut env, &["HDEL", "h", "f0"]).1, 0);
    assert_eq!(run(&mut env, &["HGETALL", "h"]).1, 0);
    assert_eq!(run(&mut env, &["SORT", "small2", "ALPHA"]).1, 0);
    assert_eq!(
        run(&mut env, &["SORT", "big2", "ALPHA", "LIMIT", "0", "1"]).1,
        1
    );
    let mut zset = vec!["ZADD".to_string(), "z".to_string()];
    zset.extend((0..1000).flat_map(|i| [i.to_string(), format!("m{i}")]));
    let zset: Vec<&str> = zset.iter().map(String::as_str).collect();
    assert_eq!(run(&mut env, &zset), (Reply::Int(1000), 0));
    assert_eq!(run(&mut env, &["ZRANGE", "z", "0", "9"]).1, 0);
    assert_eq!(run(&mut env, &["ZRANGE", "z", "-10", "-1", "REV"]).1, 0);
    assert_eq!(run(&mut env, &["ZRANGE", "z", "990", "999"]).1, 0);
    assert_eq!(run(&mut env, &["ZRANGE", "z", "0", "-1"]).1, 1);
    assert_eq!(run(&mut env, &["ZUNION", "1", "z"]).1, 1);
    assert_eq!(run(&mut env, &["ZUNION", "1", "small2"]).1, 0);

    let ks = env.ks.clone();
    let mut ctx = crate::ctx::Ctx {
        ks: &ks,
        session: &mut env.session,
        host: &NullHost,
        cmd: crate::table::lookup(b"keys").expect("keys"),
        write_seq: 0,
        group: Some(ks.group()),
        group_failed: None,
    };
    let before = OFF_WORKER_CALLS.get();
    assert_eq!(ctx.off_worker().run(|| 7), 7);
    assert_eq!(OFF_WORKER_CALLS.get(), before);
    ctx.group = None;
    assert_eq!(ctx.off_worker().run(|| 8), 8);
    assert_eq!(OFF_WORKER_CALLS.get(), before + 1);
}
