//! The terminal is given back: the real binary runs in a pseudo-terminal (`script`), is
//! stopped by SIGTERM or crashes, and what it wrote must end by leaving the alternate
//! screen and showing the cursor again; a crash leaves one line and a report file.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;

const ENTER_ALT: &str = "\x1b[?1049h";
const LEAVE_ALT: &str = "\x1b[?1049l";
const SHOW_CURSOR: &str = "\x1b[?25h";

struct Pty {
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
}

/// Runs `rewind ARGS` in a pseudo-terminal, with the sandbox's environment.
fn in_pty(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Pty {
    // script's terminal has no size of its own: give it one.
    let line = std::iter::once("stty cols 100 rows 30; exec")
        .chain(std::iter::once(env!("CARGO_BIN_EXE_rewind")))
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = Command::new("script");
    command
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("TERM", "xterm-256color")
        .env_remove("REWIND_BROKERS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .spawn()
        .expect("script (util-linux) runs rewind in a pty");
    let output = Arc::new(Mutex::new(Vec::new()));
    let sink = output.clone();
    let mut stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    Pty { child, output }
}

impl Pty {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    fn wait_for(&self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.text().contains(what) {
            assert!(
                Instant::now() < deadline,
                "no {what:?} in: {:?}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn finish(mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "rewind did not exit: {:?}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(200));
        self.text()
    }
}

/// The pid of the `rewind` process talking to `broker` (script's grandchild).
fn rewind_pid(broker: &str) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let args: Vec<String> = cmdline
                .split(|&b| b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if args.first().is_some_and(|a| a.ends_with("/rewind"))
                && args.iter().any(|a| a == broker)
            {
                return pid;
            }
        }
        assert!(Instant::now() < deadline, "no rewind process for {broker}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn restored_after_entering(output: &str) -> bool {
    let entered = output
        .rfind(ENTER_ALT)
        .expect("the TUI took the alternate screen");
    let rest = &output[entered..];
    rest.contains(LEAVE_ALT) && rest.contains(SHOW_CURSOR)
}

#[test]
fn sigterm_and_sigint_restore_the_terminal() {
    let cluster = mock(&[("t", 1)]);
    let broker = cluster.bootstrap_servers();
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        let dir = sandbox();
        let pty = in_pty(dir.path(), &["-b", &broker], &[]);
        pty.wait_for("▶ t ");
        // SAFETY: sends a signal to a process of this test.
        assert_eq!(unsafe { libc::kill(rewind_pid(&broker), signal) }, 0);
        let output = pty.finish();
        assert!(
            restored_after_entering(&output),
            "signal {signal}: {output:?}"
        );
    }
}

#[test]
#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "the crash hook is only in builds with --features test-hooks (scripts/test passes it)"
)]
fn a_panic_restores_the_terminal_and_leaves_a_report() {
    let cluster = mock(&[("t", 1)]);
    let broker = cluster.bootstrap_servers();
    let dir = sandbox();
    let pty = in_pty(dir.path(), &["-b", &broker], &[("REWIND_TEST_PANIC", "1")]);
    let output = pty.finish();
    assert!(restored_after_entering(&output), "{output:?}");
    let after = &output[output.rfind(LEAVE_ALT).unwrap()..];
    let line = after
        .lines()
        .find(|l| l.contains("rewind crashed: REWIND_TEST_PANIC is set"))
        .unwrap_or_else(|| panic!("no crash line after restoring: {after:?}"));
    let report = line.split("report: ").nth(1).unwrap().trim();
    let text = std::fs::read_to_string(report).unwrap();
    assert!(
        text.contains("REWIND_TEST_PANIC is set") && text.contains("location: src/app/run.rs"),
        "{text}"
    );
    let log = std::fs::read_to_string(dir.path().join("state/rewind/rewind.log")).unwrap();
    assert!(log.contains(report), "the log names the report: {log}");
}

#[test]
fn a_terminal_that_goes_away_does_not_leave_rewind_spinning() {
    let cluster = mock(&[("t", 1)]);
    let broker = cluster.bootstrap_servers();
    let dir = sandbox();
    let mut pty = in_pty(dir.path(), &["-b", &broker], &[]);
    pty.wait_for("▶ t ");
    let pid = rewind_pid(&broker);
    // The terminal closes under it (its emulator is killed): the kernel hangs it up.
    pty.child.kill().unwrap();
    let _ = pty.child.wait();
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z")
    {
        if Instant::now() > deadline {
            // SAFETY: ends the process this test started, so it does not spin on.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("rewind {pid} still ran 15 s after its terminal went away");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
