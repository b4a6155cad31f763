//! Zircon status codes (`zx_status_t`) with their exact values.

/// A Zircon status. `Status::OK` is success; every other value is an error. Values are Zircon's
/// (`zircon/errors.h`), so a status read off the wire means what Zircon documents.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status(i32);

macro_rules! statuses {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        impl Status {
            $($(#[$doc])* pub const $name: Status = Status($value);)*

            /// Every status this crate names, with its Zircon name.
            pub const NAMED: &'static [(Status, &'static str)] =
                &[$((Status::$name, concat!("ZX_", stringify!($name))),)*];
        }
    };
}

statuses! {
    /// `ZX_OK`.
    OK = 0;
    /// `ZX_ERR_INTERNAL`.
    ERR_INTERNAL = -1;
    /// `ZX_ERR_NOT_SUPPORTED`.
    ERR_NOT_SUPPORTED = -2;
    /// `ZX_ERR_NO_RESOURCES`.
    ERR_NO_RESOURCES = -3;
    /// `ZX_ERR_NO_MEMORY`.
    ERR_NO_MEMORY = -4;
    /// `ZX_ERR_INVALID_ARGS`.
    ERR_INVALID_ARGS = -10;
    /// `ZX_ERR_BAD_HANDLE`.
    ERR_BAD_HANDLE = -11;
    /// `ZX_ERR_WRONG_TYPE`.
    ERR_WRONG_TYPE = -12;
    /// `ZX_ERR_BAD_SYSCALL`: the message label names no operation.
    ERR_BAD_SYSCALL = -13;
    /// `ZX_ERR_OUT_OF_RANGE`.
    ERR_OUT_OF_RANGE = -14;
    /// `ZX_ERR_BUFFER_TOO_SMALL`.
    ERR_BUFFER_TOO_SMALL = -15;
    /// `ZX_ERR_BAD_STATE`.
    ERR_BAD_STATE = -20;
    /// `ZX_ERR_TIMED_OUT`.
    ERR_TIMED_OUT = -21;
    /// `ZX_ERR_SHOULD_WAIT`.
    ERR_SHOULD_WAIT = -22;
    /// `ZX_ERR_CANCELED`.
    ERR_CANCELED = -23;
    /// `ZX_ERR_PEER_CLOSED`.
    ERR_PEER_CLOSED = -24;
    /// `ZX_ERR_NOT_FOUND`.
    ERR_NOT_FOUND = -25;
    /// `ZX_ERR_ALREADY_EXISTS`.
    ERR_ALREADY_EXISTS = -26;
    /// `ZX_ERR_ALREADY_BOUND`.
    ERR_ALREADY_BOUND = -27;
    /// `ZX_ERR_UNAVAILABLE`.
    ERR_UNAVAILABLE = -28;
    /// `ZX_ERR_ACCESS_DENIED`.
    ERR_ACCESS_DENIED = -30;
    /// `ZX_ERR_IO`.
    ERR_IO = -40;
    /// `ZX_ERR_IO_DATA_INTEGRITY`.
    ERR_IO_DATA_INTEGRITY = -42;
    /// `ZX_ERR_STOP`.
    ERR_STOP = -60;
}

impl Status {
    /// The status for a raw `zx_status_t` (any value is representable).
    pub const fn from_raw(raw: i32) -> Status {
        Status(raw)
    }

    /// The raw `zx_status_t`.
    pub const fn into_raw(self) -> i32 {
        self.0
    }

    /// True for `ZX_OK`.
    pub const fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// The Zircon name, or `None` for a value this crate does not name.
    pub fn name(self) -> Option<&'static str> {
        Status::NAMED
            .iter()
            .find(|(s, _)| *s == self)
            .map(|(_, n)| *n)
    }

    /// `Ok(())` for `ZX_OK`, `Err(self)` otherwise.
    pub const fn ok(self) -> Result<(), Status> {
        if self.is_ok() { Ok(()) } else { Err(self) }
    }
}

impl core::fmt::Debug for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Status({})", self.0),
        }
    }
}
