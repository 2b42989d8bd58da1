//! Writing `-o FILE` (and `--save-prof FILE`): where the bytes go, and how a file is
//! replaced without ever being left partial or clobbered.
//!
//! - FILE's symlinks are followed, so `-o link.svg` keeps the link and replaces the file
//!   it points to (created there when the link dangles).
//! - A regular file, or none yet, is replaced atomically: a temporary in the directory
//!   FILE ends up in, written, `fsync`ed, then renamed over FILE. On Linux the
//!   temporary is unnamed (`O_TMPFILE`) until complete, so even SIGKILL leaves nothing
//!   behind; elsewhere it is `.flameprof-XXXXXX.tmp` (random, created exclusively), and
//!   SIGTERM, SIGINT or SIGHUP while it exists remove it before the process dies (SIGKILL
//!   cannot be caught: the recognisable name is what is left to clean up).
//! - Anything else is written in place, never replaced: devices, FIFOs, sockets, and the
//!   descriptors named `/dev/stdout`, `/dev/fd/N` or `/proc/self/fd/N`, whose own open
//!   descriptor is written (so `>>` appends and a socket works).
//! - A new file gets the mode `open(FILE, O_CREAT, 0666)` would give it, the umask (or
//!   a default ACL) applied by the kernel; a replaced file keeps its permission bits,
//!   less setuid, setgid and sticky. A file the user could not open for writing is not
//!   replaced, even in a writable directory (root can write anything, so root replaces
//!   it, as `>` would).
//!
//! `FLAMEPROF_NO_O_TMPFILE=1` makes Linux take the portable path; the tests use it.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Runs `render` into FILE at `path`, as the module describes.
pub fn write_file(
    path: &Path,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    match resolve(path)? {
        Destination::InPlace(file) => {
            let mut out = io::BufWriter::with_capacity(1 << 16, file);
            render(&mut out)?;
            out.flush()
        }
        Destination::Replace { dir, path, mode } => replace(&dir, &path, mode, render),
    }
}

/// Where FILE's bytes go.
enum Destination {
    /// A device, FIFO, socket or descriptor, open for writing.
    InPlace(File),
    /// A regular file, or a name with nothing there yet: `path` in `dir`, both free of
    /// symlinks; `mode` is the permission bits of the file it replaces.
    Replace {
        dir: PathBuf,
        path: PathBuf,
        mode: Option<u32>,
    },
}

/// Follows `path`'s symlinks one at a time (as `open` would, up to its 40) to what
/// FILE really is.
fn resolve(path: &Path) -> io::Result<Destination> {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        let Some(name) = path.file_name() else {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory",
            ));
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let dir = std::fs::canonicalize(dir)?;
        if descriptors::holds(&dir) {
            return descriptors::open(&dir, name);
        }
        let full = dir.join(name);
        match std::fs::symlink_metadata(&full) {
            Ok(m) if m.file_type().is_symlink() => {
                // A relative link is relative to the directory the link is in.
                path = dir.join(std::fs::read_link(&full)?);
            }
            Ok(m) if m.is_file() => {
                writable(&full)?;
                return Ok(Destination::Replace {
                    dir,
                    path: full,
                    mode: Some(permission_bits(&m)),
                });
            }
            Ok(m) if m.is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "is a directory",
                ));
            }
            Ok(_) => return open_in_place(&full).map(Destination::InPlace),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Destination::Replace {
                    dir,
                    path: full,
                    mode: None,
                });
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Opens a device, FIFO or socket for writing as the shell's `>` does (a FIFO waits
/// for its reader; truncation applies only to regular files, e.g. in /proc).
fn open_in_place(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
}

/// The permission bits a replacement keeps: rwx for all three, never setuid, setgid or
/// sticky (a rendering is not a program, and the bits would grant privileges to bytes
/// the file's owner never wrote).
#[cfg(unix)]
fn permission_bits(m: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    m.permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn permission_bits(_m: &std::fs::Metadata) -> u32 {
    0
}

/// Refuses to replace a file the user could not open for writing (with the effective
/// IDs, as `open` checks): a writable directory lets anyone rename over a file, but a
/// read-only file, or someone else's, says it is not to be overwritten.
#[cfg(unix)]
fn writable(path: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: a valid NUL-terminated path; faccessat does not keep it.
    let r = unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::W_OK, libc::AT_EACCESS) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn writable(path: &Path) -> io::Result<()> {
    if std::fs::metadata(path)?.permissions().readonly() {
        return Err(io::ErrorKind::PermissionDenied.into());
    }
    Ok(())
}

/// Writes a temporary in `dir` and renames it over `path`.
fn replace(
    dir: &Path,
    path: &Path,
    mode: Option<u32>,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    if let Some(file) = unnamed::create(dir) {
        let mut out = io::BufWriter::with_capacity(1 << 16, file);
        render(&mut out)?;
        out.flush()?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        if let Some(mode) = mode {
            set_mode(&file, mode)?;
        }
        file.sync_all()?;
        return unnamed::publish(&file, dir, path);
    }
    let watch = cleanup::Watch::new();
    let temp = temporary().make_in(dir, |name| {
        // Watched before it exists: a signal right after it is created must find it.
        watch.set(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, new_file_mode(mode));
        options.open(name).inspect_err(|_| watch.clear())
    })?;
    let mut out = io::BufWriter::with_capacity(1 << 16, temp);
    render(&mut out)?;
    out.flush()?;
    let temp = out.into_inner().map_err(|e| e.into_error())?;
    if let Some(mode) = mode {
        set_mode(temp.as_file(), mode)?;
    }
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Temporary names: `.flameprof-XXXXXX.tmp`, random, created with `O_EXCL` (retried
/// when taken), so that no other user can predict and block them.
fn temporary() -> tempfile::Builder<'static, 'static> {
    let mut b = tempfile::Builder::new();
    b.prefix(".flameprof-").suffix(".tmp");
    b
}

/// The mode a named temporary is created with: 0666 for a new file, so that the
/// kernel applies the umask (or the directory's default ACL) as for any new file; 0600
/// when it will replace a file, whose bits it gets once written, so that the contents
/// are never more exposed than the file's.
#[cfg(unix)]
fn new_file_mode(replacing: Option<u32>) -> u32 {
    if replacing.is_some() { 0o600 } else { 0o666 }
}

#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// The directories whose entries are open descriptors (`/proc/<pid>/fd`, `/dev/fd`),
/// or other process files: written in place, never replaced.
mod descriptors {
    use std::ffi::OsStr;
    use std::fs::File;
    use std::io;
    use std::path::Path;

    use super::Destination;

    /// Whether `dir` (canonical) is such a directory: on Linux anything in procfs
    /// (`/dev/stdout` leads to `/proc/self/fd/1`, `/dev/fd` is `/proc/self/fd`).
    pub fn holds(dir: &Path) -> bool {
        on_procfs(dir) || dir == Path::new("/dev/fd")
    }

    #[cfg(target_os = "linux")]
    fn on_procfs(dir: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt;
        const PROC_SUPER_MAGIC: i64 = 0x9fa0;
        let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: a valid NUL-terminated path and a zeroed struct statfs fills.
        unsafe {
            let mut s: libc::statfs = std::mem::zeroed();
            libc::statfs(c.as_ptr(), &mut s) == 0 && s.f_type as i64 == PROC_SUPER_MAGIC
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn on_procfs(_dir: &Path) -> bool {
        false
    }

    /// One of this process's own descriptors is written through a duplicate, at its
    /// offset and with its flags (`>>` appends; a socket cannot be reopened); any other
    /// entry is opened.
    pub fn open(dir: &Path, name: &OsStr) -> io::Result<Destination> {
        if let Some(fd) = own_descriptor(dir, name) {
            return duplicate(fd).map(Destination::InPlace);
        }
        super::open_in_place(&dir.join(name)).map(Destination::InPlace)
    }

    /// `N` for `/dev/fd/N` and `/proc/<our pid>/fd/N` (also `/proc/<pid>/task/<tid>/fd/N`).
    pub(super) fn own_descriptor(dir: &Path, name: &OsStr) -> Option<i32> {
        let fd = name.to_str()?.parse::<i32>().ok()?;
        if dir == Path::new("/dev/fd") {
            return Some(fd);
        }
        let mut parts = dir.strip_prefix("/proc").ok()?.iter();
        let pid = parts.next()?;
        let rest: Vec<_> = parts.collect();
        let fd_dir = match rest.as_slice() {
            [fd_dir] => fd_dir,
            [task, _tid, fd_dir] if *task == "task" => fd_dir,
            _ => return None,
        };
        (*fd_dir == "fd" && pid.to_str()? == std::process::id().to_string()).then_some(fd)
    }

    #[cfg(unix)]
    fn duplicate(fd: i32) -> io::Result<File> {
        use std::os::unix::io::FromRawFd;
        // SAFETY: fcntl checks `fd` (EBADF when it is not open) and returns a new
        // descriptor that the File then owns.
        let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if new < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(unsafe { File::from_raw_fd(new) })
    }

    #[cfg(not(unix))]
    fn duplicate(_fd: i32) -> io::Result<File> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// Removing a named temporary when SIGTERM, SIGINT or SIGHUP ends the process while it
/// exists. The handler only reads a pointer, unlinks and re-raises the signal with its
/// default action (all async-signal-safe), so the process still dies of the signal.
/// Signals that are ignored or already handled (`nohup`, `flameprof run`'s Ctrl-C)
/// are left as they are.
#[cfg(unix)]
mod cleanup {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::ptr;
    use std::sync::atomic::{AtomicPtr, Ordering};

    /// The temporary to remove (an absolute path), or null.
    static TEMPORARY: AtomicPtr<libc::c_char> = AtomicPtr::new(ptr::null_mut());

    const SIGNALS: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

    extern "C" fn remove_and_die(signal: libc::c_int) {
        // Whoever swaps the pointer out owns it: this handler or `Watch::drop`.
        let path = TEMPORARY.swap(ptr::null_mut(), Ordering::SeqCst);
        // SAFETY: unlink, signal and raise are async-signal-safe; `path` is a valid C
        // string that `Watch::drop` can no longer free. The signal stays blocked until
        // the handler returns, then its default action ends the process.
        unsafe {
            if !path.is_null() {
                libc::unlink(path);
            }
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }

    /// The handlers, installed while it lives; the temporary, from [`Watch::set`].
    pub struct Watch {
        previous: Vec<(libc::c_int, libc::sigaction)>,
    }

    impl Watch {
        pub fn new() -> Watch {
            let mut previous = Vec::new();
            for signal in SIGNALS {
                // SAFETY: plain sigaction calls with zeroed structs; the handler is
                // async-signal-safe.
                unsafe {
                    let mut old: libc::sigaction = std::mem::zeroed();
                    if libc::sigaction(signal, ptr::null(), &mut old) != 0
                        || old.sa_sigaction != libc::SIG_DFL
                    {
                        continue;
                    }
                    let mut new: libc::sigaction = std::mem::zeroed();
                    new.sa_sigaction =
                        remove_and_die as extern "C" fn(libc::c_int) as libc::sighandler_t;
                    new.sa_flags = libc::SA_RESTART;
                    libc::sigemptyset(&mut new.sa_mask);
                    if libc::sigaction(signal, &new, ptr::null_mut()) == 0 {
                        previous.push((signal, old));
                    }
                }
            }
            Watch { previous }
        }

        /// Removes `path` if a signal comes; `path` must be absolute.
        pub fn set(&self, path: &Path) {
            if let Ok(c) = CString::new(path.as_os_str().as_bytes()) {
                free(TEMPORARY.swap(c.into_raw(), Ordering::SeqCst));
            }
        }

        /// Forgets the path (a name that turned out to be taken is not ours).
        pub fn clear(&self) {
            free(TEMPORARY.swap(ptr::null_mut(), Ordering::SeqCst));
        }
    }

    fn free(path: *mut libc::c_char) {
        if !path.is_null() {
            // SAFETY: every non-null pointer stored came from CString::into_raw, and
            // the swap that returned it made this its only owner.
            drop(unsafe { CString::from_raw(path) });
        }
    }

    impl Drop for Watch {
        fn drop(&mut self) {
            self.clear();
            for (signal, old) in self.previous.drain(..) {
                // SAFETY: restores the disposition saved in `new`.
                unsafe {
                    libc::sigaction(signal, &old, ptr::null_mut());
                }
            }
        }
    }
}

#[cfg(not(unix))]
mod cleanup {
    pub struct Watch;
    impl Watch {
        pub fn new() -> Watch {
            Watch
        }
        pub fn set(&self, _path: &std::path::Path) {}
        pub fn clear(&self) {}
    }
}

/// Unnamed temporary files (Linux `O_TMPFILE`): written in the output's directory,
/// linked under a temporary name only when complete, then renamed over the output.
#[cfg(target_os = "linux")]
mod unnamed {
    use std::ffi::CString;
    use std::fs::File;
    use std::io;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    use std::path::Path;

    /// `None` when the file system or kernel cannot (then a named temporary is used).
    /// Created with 0666 so that the kernel applies the umask or default ACL as to any
    /// new file; nobody else can open it before it has a name.
    pub fn create(dir: &Path) -> Option<File> {
        if std::env::var_os("FLAMEPROF_NO_O_TMPFILE").is_some_and(|v| v == "1")
            || !Path::new("/proc/self/fd").is_dir()
        {
            return None;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .mode(0o666)
            .custom_flags(libc::O_TMPFILE)
            .open(dir)
            .ok()
    }

    /// Links `file` into `dir` under a random temporary name, then renames that over
    /// `path`.
    pub fn publish(file: &File, dir: &Path, path: &Path) -> io::Result<()> {
        let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
        let watch = super::cleanup::Watch::new();
        let linked = super::temporary().make_in(dir, |name| {
            let to = CString::new(name.as_os_str().as_bytes())?;
            watch.set(name);
            // SAFETY: two valid NUL-terminated paths; linkat does not keep them.
            let r = unsafe {
                libc::linkat(
                    libc::AT_FDCWD,
                    from.as_ptr(),
                    libc::AT_FDCWD,
                    to.as_ptr(),
                    libc::AT_SYMLINK_FOLLOW,
                )
            };
            if r == 0 {
                Ok(())
            } else {
                let e = io::Error::last_os_error();
                watch.clear();
                Err(e)
            }
        })?;
        linked.persist(path).map_err(|e| e.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Temporary names are random: names guessed from the process id (or anything
    /// else) cannot make every write into a shared directory fail.
    #[cfg(target_os = "linux")]
    #[test]
    fn taken_predictable_names_do_not_block_publishing() {
        let dir = tempfile::tempdir().unwrap();
        let pid = std::process::id();
        for n in 0..100 {
            std::fs::write(dir.path().join(format!(".flameprof-{pid}-{n}.tmp")), "").unwrap();
        }
        let Some(mut file) = unnamed::create(dir.path()) else {
            eprintln!("skipped: no O_TMPFILE here");
            return;
        };
        file.write_all(b"done").unwrap();
        let out = dir.path().join("out");
        unnamed::publish(&file, dir.path(), &out).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"done");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 101);
    }

    #[test]
    fn own_descriptors_are_recognised() {
        let me = std::process::id();
        for (dir, name, want) in [
            ("/dev/fd".to_string(), "1", Some(1)),
            (format!("/proc/{me}/fd"), "7", Some(7)),
            (format!("/proc/{me}/task/{me}/fd"), "2", Some(2)),
            (format!("/proc/{}/fd", me + 1), "1", None),
            (format!("/proc/{me}/fdinfo"), "1", None),
            (format!("/proc/{me}/fd"), "x", None),
        ] {
            assert_eq!(
                descriptors::own_descriptor(Path::new(&dir), name.as_ref()),
                want,
                "{dir}/{name}"
            );
        }
    }
}
