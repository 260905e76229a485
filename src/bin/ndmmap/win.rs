//! The few Windows calls the command makes itself (the library makes the rest): console
//! control events for `lock`, and the console's width for the charts. Declared here rather than taken from a crate: a few functions of kernel32, which
//! every Windows program links.

/// `CTRL_C_EVENT`: Ctrl-C.
pub const CTRL_C_EVENT: u32 = 0;
/// `CTRL_BREAK_EVENT`: Ctrl-Break, or `GenerateConsoleCtrlEvent` to a process group.
pub const CTRL_BREAK_EVENT: u32 = 1;
/// `CTRL_CLOSE_EVENT`: the console window is being closed.
pub const CTRL_CLOSE_EVENT: u32 = 2;

/// A `HandlerRoutine`: gets the event, answers `TRUE` (non-zero) when it handled it.
pub type CtrlHandler = unsafe extern "system" fn(ctrl: u32) -> i32;

/// `CONSOLE_SCREEN_BUFFER_INFO`: `COORD`s and a `SMALL_RECT` as arrays of `SHORT`.
#[repr(C)]
#[derive(Default)]
pub struct ScreenBufferInfo {
    pub size: [i16; 2],
    pub cursor: [i16; 2],
    pub attributes: u16,
    /// The visible window: left, top, right, bottom (inclusive).
    pub window: [i16; 4],
    pub max_window: [i16; 2],
}

#[link(name = "kernel32")]
unsafe extern "system" {
    /// Adds (`add` non-zero) or removes a handler; with no handler, `add == 0` restores
    /// Ctrl-C processing that a parent turned off (the setting is inherited).
    pub fn SetConsoleCtrlHandler(handler: Option<CtrlHandler>, add: i32) -> i32;
    /// Fills `info` for a console screen buffer handle; fails (0) for a file or a pipe.
    pub fn GetConsoleScreenBufferInfo(
        console: std::os::windows::raw::HANDLE,
        info: *mut ScreenBufferInfo,
    ) -> i32;
}
