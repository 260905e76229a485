//! The one Windows call the command makes itself (the library makes the rest): console
//! control events for `lock`. Declared here rather than taken from a crate: a function of
//! kernel32, which every Windows program links.

/// `CTRL_C_EVENT`: Ctrl-C.
pub const CTRL_C_EVENT: u32 = 0;
/// `CTRL_BREAK_EVENT`: Ctrl-Break, or `GenerateConsoleCtrlEvent` to a process group.
pub const CTRL_BREAK_EVENT: u32 = 1;
/// `CTRL_CLOSE_EVENT`: the console window is being closed.
pub const CTRL_CLOSE_EVENT: u32 = 2;

/// A `HandlerRoutine`: gets the event, answers `TRUE` (non-zero) when it handled it.
pub type CtrlHandler = unsafe extern "system" fn(ctrl: u32) -> i32;

#[link(name = "kernel32")]
unsafe extern "system" {
    /// Adds (`add` non-zero) or removes a handler; with no handler, `add == 0` restores
    /// Ctrl-C processing that a parent turned off (the setting is inherited).
    pub fn SetConsoleCtrlHandler(handler: Option<CtrlHandler>, add: i32) -> i32;
}
