//! Child processes tied to the test process: spawned so that they die with it, and stopped
//! by PID with a bounded wait.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};

struct SpawnRequest {
    command: Command,
    reply: mpsc::Sender<io::Result<Child>>,
}

/// Spawns `command` so that the kernel SIGKILLs it when the test process dies, even when
/// the process is killed by Ctrl-C or SIGKILL and no `Drop` runs.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not the process.
/// Test harnesses run each test on its own thread, and a test may start a server on a helper
/// thread and keep using it after that thread ends, so every fork happens on one spawner
/// thread that lives as long as the process.
pub(crate) fn spawn_tied(mut command: Command) -> Result<Child> {
    let parent_pid = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec and only calls async-signal-safe
    // functions (prctl, getppid); it allocates nothing (raw OS errors carry no heap data).
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl; then nobody would ever kill us.
            if libc::getppid() != parent_pid {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    let program = command.get_program().to_string_lossy().into_owned();
    let (reply, response) = mpsc::channel();
    spawner()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .send(SpawnRequest { command, reply })
        .map_err(|_| anyhow!("testkit spawner thread is gone; cannot start {program}"))?;
    response
        .recv()
        .map_err(|_| anyhow!("testkit spawner thread died while starting {program}"))?
        .with_context(|| format!("cannot start {program}"))
}

fn spawner() -> &'static Mutex<mpsc::Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (sender, requests) = mpsc::channel::<SpawnRequest>();
        let spawned = std::thread::Builder::new()
            .name("testkit-spawner".into())
            .spawn(move || {
                for mut request in requests {
                    // The caller may have given up; nothing to do about a lost reply.
                    let _ = request.reply.send(request.command.spawn());
                }
            });
        if let Err(err) = spawned {
            // Requests then fail with "spawner thread is gone", which names the cause.
            eprintln!("testkit: cannot start the spawner thread: {err}");
        }
        Mutex::new(sender)
    })
}

/// Sends `signal` to `pid`. A process that is already gone is not an error.
pub(crate) fn send_signal(pid: u32, signal: libc::c_int) -> Result<()> {
    let pid = libc::pid_t::try_from(pid).context("pid out of range")?;
    // SAFETY: kill(2) has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            return Err(err).with_context(|| format!("kill({pid}, {signal}) failed"));
        }
    }
    Ok(())
}

/// Waits up to `timeout` for `child` to exit (and reaps it). `Ok(None)` on timeout.
pub(crate) fn wait_timeout(child: &mut Child, timeout: Duration) -> Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child
            .try_wait()
            .with_context(|| format!("waitpid({}) failed", child.id()))?
        {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGTERM, wait up to `timeout`, then SIGKILL. Returns `true` if it exited on SIGTERM.
pub(crate) fn terminate(child: &mut Child, timeout: Duration) -> Result<bool> {
    send_signal(child.id(), libc::SIGTERM)?;
    if wait_timeout(child, timeout)?.is_some() {
        return Ok(true);
    }
    kill_and_reap(child)?;
    Ok(false)
}

/// SIGKILL and reap.
pub(crate) fn kill_and_reap(child: &mut Child) -> Result<()> {
    send_signal(child.id(), libc::SIGKILL)?;
    child
        .wait()
        .with_context(|| format!("waitpid({}) after SIGKILL failed", child.id()))?;
    Ok(())
}
