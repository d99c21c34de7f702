//! libtp from Rust: the seed crate's `ThreadPool` API over libtp's C ABI.
//!
//! ```no_run
//! let pool = tp::ThreadPool::build(4).expect("a pool");
//! pool.execute(|| println!("hello from a worker")).unwrap();
//! // dropping the pool waits until every accepted job has run
//!
//! // The process-wide pool, shared with every other user of libtp in the process (C and C++
//! // libraries, Python modules): never shut down, never dropped.
//! let shared = tp::ThreadPool::global().expect("the default pool");
//! shared.execute(|| println!("on the shared pool")).unwrap();
//! ```
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_uint, c_void};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

#[repr(C)]
struct RawPool {
    _opaque: [u8; 0],
}

type JobFn = unsafe extern "C" fn(*mut c_void);

extern "C" {
    fn tp_status_string(status: c_int) -> *const c_char;
    fn tp_version() -> c_uint;
    fn tp_pool_create(workers: usize, out: *mut *mut RawPool) -> c_int;
    fn tp_pool_execute(pool: *mut RawPool, job: Option<JobFn>, arg: *mut c_void) -> c_int;
    fn tp_pool_wait_idle(pool: *mut RawPool) -> c_int;
    fn tp_pool_shutdown(pool: *mut RawPool) -> c_int;
    fn tp_pool_destroy(pool: *mut RawPool) -> c_int;
    fn tp_pool_workers(pool: *const RawPool) -> usize;
    fn tp_pool_default(out: *mut *mut RawPool) -> c_int;
}

/// The seed's errors, plus the rest of libtp's statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// A pool needs at least one worker (TP_ERR_ZERO_WORKERS).
    ZeroWorkers,
    /// The pool no longer accepts jobs (TP_ERR_SHUTDOWN).
    SendError,
    /// Any other tp_status.
    Other(i32),
}

impl PoolError {
    fn from_status(status: c_int) -> Result<(), PoolError> {
        match status {
            0 => Ok(()),
            -1 => Err(PoolError::ZeroWorkers),
            -2 => Err(PoolError::SendError),
            other => Err(PoolError::Other(other)),
        }
    }
    fn status(self) -> c_int {
        match self {
            PoolError::ZeroWorkers => -1,
            PoolError::SendError => -2,
            PoolError::Other(status) => status,
        }
    }
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: tp_status_string returns a static, NUL-terminated string for every value.
        let text = unsafe { CStr::from_ptr(tp_status_string(self.status())) };
        f.write_str(&text.to_string_lossy())
    }
}

impl std::error::Error for PoolError {}

/// libtp's runtime version: MAJOR * 10000 + MINOR * 100 + PATCH.
pub fn version() -> u32 {
    // SAFETY: no arguments, no state.
    unsafe { tp_version() }
}

type Job = Box<dyn FnOnce() + Send + 'static>;

unsafe extern "C" fn run_job(arg: *mut c_void) {
    // SAFETY: `arg` is the Box<Job> leaked by `execute`, handed to exactly one run.
    let job = unsafe { Box::from_raw(arg as *mut Job) };
    // A panic must not unwind into C++: catch it here (the job is lost, the worker carries on).
    let _ = catch_unwind(AssertUnwindSafe(move || job()));
}

/// A work-stealing pool of worker threads.
pub struct ThreadPool {
    raw: *mut RawPool, // the owned pool; null for the global handle, which looks it up
}

/// The handle `global()` returns: it owns nothing and is never dropped.
static GLOBAL: ThreadPool = ThreadPool { raw: std::ptr::null_mut() };

// SAFETY: every tp_pool_* call is thread-safe; the handle is only freed in Drop.
unsafe impl Send for ThreadPool {}
unsafe impl Sync for ThreadPool {}

impl ThreadPool {
    /// A pool of `workers` threads; `PoolError::ZeroWorkers` for 0.
    pub fn build(workers: usize) -> Result<ThreadPool, PoolError> {
        let mut raw = std::ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer.
        PoolError::from_status(unsafe { tp_pool_create(workers, &mut raw) })?;
        Ok(ThreadPool { raw })
    }

    /// The process-wide pool (`tp_pool_default`), created on first use and shared by every user
    /// of libtp in the process. `TP_NUM_THREADS` sets its worker count. Its `shutdown()` is
    /// refused (`PoolError::Other(-3)`, TP_ERR_INVALID_ARGUMENT): it lives as long as the process.
    pub fn global() -> Result<&'static ThreadPool, PoolError> {
        let mut raw = std::ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer.
        PoolError::from_status(unsafe { tp_pool_default(&mut raw) })?;
        Ok(&GLOBAL)
    }

    // The pool to call: the owned one, or the default pool looked up again (one atomic load), so
    // that a child process after fork() gets its own.
    fn handle(&self) -> *mut RawPool {
        if !self.raw.is_null() {
            return self.raw;
        }
        let mut raw = std::ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer; on failure it stays null and calls are refused.
        unsafe { tp_pool_default(&mut raw) };
        raw
    }

    /// Runs `f` once on some worker; `PoolError::SendError` after shutdown.
    pub fn execute<F: FnOnce() + Send + 'static>(&self, f: F) -> Result<(), PoolError> {
        let job: *mut Job = Box::into_raw(Box::new(Box::new(f)));
        // SAFETY: run_job takes ownership of `job` exactly once if the call succeeds.
        let status = unsafe { tp_pool_execute(self.handle(), Some(run_job), job as *mut c_void) };
        if status != 0 {
            // SAFETY: refused, so nothing else owns `job`.
            drop(unsafe { Box::from_raw(job) });
        }
        PoolError::from_status(status)
    }

    /// Blocks until every job accepted so far has run.
    pub fn wait_idle(&self) -> Result<(), PoolError> {
        // SAFETY: a live handle.
        PoolError::from_status(unsafe { tp_pool_wait_idle(self.handle()) })
    }

    /// Stops accepting jobs and runs the accepted ones. Idempotent.
    pub fn shutdown(&self) -> Result<(), PoolError> {
        // SAFETY: a live handle.
        PoolError::from_status(unsafe { tp_pool_shutdown(self.handle()) })
    }

    /// The number of worker threads.
    pub fn workers(&self) -> usize {
        // SAFETY: a live handle.
        unsafe { tp_pool_workers(self.handle()) }
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        // SAFETY: the handle is not used after this. Blocks until every accepted job has run.
        // (The global handle is a static: never dropped; its null would be a no-op anyway.)
        unsafe { tp_pool_destroy(self.raw) };
    }
}

/// For tests of the raw ABI: a NULL job function is refused.
pub fn execute_null_job(pool: &ThreadPool) -> Result<(), PoolError> {
    // SAFETY: a live handle; the library checks the NULL function.
    PoolError::from_status(unsafe { tp_pool_execute(pool.handle(), None, std::ptr::null_mut()) })
}
