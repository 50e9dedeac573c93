//! An operating-system call the SQLite store's checkpointer makes, which the standard library
//! does not offer (Linux; elsewhere it does nothing).

/// Lowers the calling thread's CPU priority to `nice` (0 normal … 19 lowest; only ever lowered:
/// raising it again needs a privilege).
pub fn lower_thread_priority(nice: i32) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id.
        let rc = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice.clamp(0, 19))
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The calling thread's nice value, from `/proc/thread-self/stat` (field 19).
    fn nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // The command name (field 2) may hold spaces: count from the parenthesis closing it.
        let after = &stat[stat.rfind(')').unwrap() + 1..];
        after.split_whitespace().nth(16).unwrap().parse().unwrap()
    }

    #[test]
    fn lowers_the_calling_thread_only() {
        let before = nice();
        let lowered = std::thread::spawn(|| {
            super::lower_thread_priority(10).unwrap();
            nice()
        })
        .join()
        .unwrap();
        assert_eq!(lowered, 10.max(before));
        assert_eq!(nice(), before, "the other threads keep their priority");
    }
}
