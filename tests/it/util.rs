//! Test harness: starts the real `strata-server` (or Debian's `redis-server`, as a reference) on a
//! free port with a temporary data dir, and talks to it over raw RESP, the `redis` crate or
//! `redis-cli`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Which program a `Server` runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// The binary under test.
    Strata,
    /// Debian's redis-server, the reference.
    Redis,
}

/// A running server process with its own data dir.
pub struct Server {
    pub kind: Kind,
    pub port: u16,
    pub dir: tempfile::TempDir,
    args: Vec<String>,
    child: Option<Child>,
}

pub fn strata_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_strata-server"))
}

/// Whether redis-server is installed (the differential tests need it; CI installs it).
pub fn have_redis() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Server {
    /// Strata with extra `--key value` arguments.
    pub fn strata(extra: &[&str]) -> Server {
        Self::start(Kind::Strata, extra)
    }

    /// The reference redis-server, configured as close to Strata as it gets.
    pub fn redis() -> Server {
        Self::start(Kind::Redis, &["--save", "", "--appendonly", "no"])
    }

    pub fn start(kind: Kind, extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Server {
            kind,
            port: 0,
            dir,
            args: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        s.spawn();
        s
    }

    /// The server's process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn spawn(&mut self) {
        // A port can be taken between picking and binding; retry on a fresh one.
        for _ in 0..5 {
            let port = free_port();
            let program = match self.kind {
                Kind::Strata => strata_bin(),
                Kind::Redis => PathBuf::from("redis-server"),
            };
            let mut cmd = Command::new(program);
            // A config file, like redis-server's, must come first.
            let (file, flags) = match self.args.first() {
                Some(f) if !f.starts_with("--") => (Some(f.clone()), &self.args[1..]),
                _ => (None, &self.args[..]),
            };
            cmd.args(file);
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
            cmd.args(["--dir", &self.data_dir().to_string_lossy()]);
            std::fs::create_dir_all(self.data_dir()).expect("mkdir");
            if self.kind == Kind::Strata {
                cmd.args(["--loglevel", "warning"]);
            }
            cmd.args(flags);
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
            let mut child = cmd.spawn().expect("spawn server");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(mut c) = Raw::try_connect(port) {
                    let pong = c.cmd(&["PING"]);
                    if pong == b"+PONG\r\n" || pong.starts_with(b"-NOAUTH") {
                        self.port = port;
                        self.child = Some(child);
                        return;
                    }
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("{:?} did not start", self.kind);
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a clean exit; returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("server did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to exit by itself (after SHUTDOWN).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return st;
            }
            assert!(Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the same server again on the same data dir (new port).
    pub fn restart(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
        self.spawn();
    }

    pub fn raw(&self) -> Raw {
        Raw::try_connect(self.port).expect("connect")
    }

    /// A client; in cold mode the memory tier is dropped before every command.
    pub fn client(&self, cold: bool) -> Client {
        Client {
            main: self.raw(),
            admin: cold.then(|| self.raw()),
        }
    }

    pub fn redis_conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection())
            .expect("redis crate connects")
    }

    /// Runs redis-cli against the server and returns its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli is installed (apt-get install redis-tools)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A raw RESP connection that returns each reply's exact bytes.
pub struct Raw {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

/// RESP encoding of a request.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

impl Raw {
    pub fn try_connect(port: u16) -> std::io::Result<Raw> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        s.set_nodelay(true)?;
        Ok(Raw {
            r: BufReader::new(s.try_clone()?),
            w: s,
        })
    }

    /// The socket, for writes that may fail.
    pub fn writer(&mut self) -> &mut TcpStream {
        &mut self.w
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).expect("write");
    }

    pub fn cmd(&mut self, args: &[&str]) -> Vec<u8> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.cmd_bytes(&a)
    }

    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(&encode(args));
        self.reply()
    }

    /// Reads one complete reply; empty when the server closed the connection.
    pub fn reply(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.read_into(&mut out).is_err() {
            return Vec::new();
        }
        out
    }

    fn read_into(&mut self, out: &mut Vec<u8>) -> std::io::Result<()> {
        let start = out.len();
        let n = self.r.read_until(b'\n', out)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = String::from_utf8_lossy(&out[start..out.len() - 2]).into_owned();
        let num = || line[1..].parse::<i64>().unwrap_or(-1);
        match line.as_bytes().first() {
            Some(b'$') if num() >= 0 => {
                let mut buf = vec![0; num() as usize + 2];
                self.r.read_exact(&mut buf)?;
                out.extend_from_slice(&buf);
            }
            Some(b'*') => {
                for _ in 0..num().max(0) {
                    self.read_into(out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether the server closed the connection.
    pub fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.r.read(&mut b), Ok(0))
    }
}

/// A test client that can run in cold mode.
pub struct Client {
    pub main: Raw,
    admin: Option<Raw>,
}

impl Client {
    pub fn cmd(&mut self, args: &[&str]) -> Vec<u8> {
        if let Some(a) = &mut self.admin {
            assert_eq!(a.cmd(&["TIER", "DROP"]).first(), Some(&b':'));
        }
        self.main.cmd(args)
    }

    /// The reply as text, for readable assertions.
    pub fn s(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cmd(args)).into_owned()
    }
}
