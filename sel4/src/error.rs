//! Kernel error codes (`seL4_Error`), as carried in the label of an invocation reply.

use core::fmt;

/// Number of `seL4_Error` values including `seL4_NoError` (`seL4_NumErrors`).
pub const NUM_ERRORS: u64 = 11;

/// A failed invocation (`seL4_Error` without `seL4_NoError`).
///
/// Detail words of the reply (e.g. the range of a `RangeError`) are available from
/// [`crate::Response::words`] when the raw response is used.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u64)]
pub enum Error {
    /// `seL4_InvalidArgument` (MR0 = index of the bad argument).
    InvalidArgument = 1,
    /// `seL4_InvalidCapability` (MR0 = index of the bad cap).
    InvalidCapability = 2,
    /// `seL4_IllegalOperation`.
    IllegalOperation = 3,
    /// `seL4_RangeError` (MR0 = minimum, MR1 = maximum).
    RangeError = 4,
    /// `seL4_AlignmentError`.
    AlignmentError = 5,
    /// `seL4_FailedLookup` (MR0 = 1 if the source failed, then lookup-failure words).
    FailedLookup = 6,
    /// `seL4_TruncatedMessage`.
    TruncatedMessage = 7,
    /// `seL4_DeleteFirst`.
    DeleteFirst = 8,
    /// `seL4_RevokeFirst`.
    RevokeFirst = 9,
    /// `seL4_NotEnoughMemory` (MR0 = bytes available).
    NotEnoughMemory = 10,
}

// Compile-time guard: every kernel error code must have a variant. If the kernel grows a new
// error, NUM_ERRORS (checked against the headers by sel4-build) and this list must change.
const _: () = assert!(Error::ALL.len() as u64 == NUM_ERRORS - 1);
const _: () = assert!(Error::NotEnoughMemory as u64 == NUM_ERRORS - 1);

impl Error {
    /// Every error, in code order.
    pub const ALL: [Error; 10] = [
        Error::InvalidArgument,
        Error::InvalidCapability,
        Error::IllegalOperation,
        Error::RangeError,
        Error::AlignmentError,
        Error::FailedLookup,
        Error::TruncatedMessage,
        Error::DeleteFirst,
        Error::RevokeFirst,
        Error::NotEnoughMemory,
    ];

    /// The error with kernel code `code`; `None` for 0 (`seL4_NoError`) and unknown codes.
    pub const fn from_code(code: u64) -> Option<Error> {
        if code == 0 || code >= NUM_ERRORS {
            return None;
        }
        Some(Error::ALL[(code - 1) as usize])
    }

    /// The kernel code.
    pub const fn code(self) -> u64 {
        self as u64
    }

    /// The libsel4 name, e.g. `seL4_RangeError`.
    pub const fn c_name(self) -> &'static str {
        match self {
            Error::InvalidArgument => "seL4_InvalidArgument",
            Error::InvalidCapability => "seL4_InvalidCapability",
            Error::IllegalOperation => "seL4_IllegalOperation",
            Error::RangeError => "seL4_RangeError",
            Error::AlignmentError => "seL4_AlignmentError",
            Error::FailedLookup => "seL4_FailedLookup",
            Error::TruncatedMessage => "seL4_TruncatedMessage",
            Error::DeleteFirst => "seL4_DeleteFirst",
            Error::RevokeFirst => "seL4_RevokeFirst",
            Error::NotEnoughMemory => "seL4_NotEnoughMemory",
        }
    }

    /// Interprets a reply label: 0 is success, a known code is that error. Any other label
    /// means the reply did not come from the kernel (e.g. the cap was an endpoint served by a
    /// user thread); that is reported as [`Error::IllegalOperation`].
    pub const fn check_label(label: u64) -> core::result::Result<(), Error> {
        if label == 0 {
            return Ok(());
        }
        match Error::from_code(label) {
            Some(e) => Err(e),
            None => Err(Error::IllegalOperation),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.c_name(), self.code())
    }
}

impl core::error::Error for Error {}

/// Result of an invocation.
pub type Result<T> = core::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::{Error, NUM_ERRORS};

    #[test]
    fn codes_round_trip() {
        for (i, e) in Error::ALL.iter().enumerate() {
            assert_eq!(e.code(), i as u64 + 1);
            assert_eq!(Error::from_code(e.code()), Some(*e));
        }
        assert_eq!(Error::from_code(0), None);
        assert_eq!(Error::from_code(NUM_ERRORS), None);
        assert_eq!(Error::from_code(u64::MAX), None);
    }

    #[test]
    fn reply_labels() {
        assert_eq!(Error::check_label(0), Ok(()));
        assert_eq!(Error::check_label(4), Err(Error::RangeError));
        assert_eq!(Error::check_label(99), Err(Error::IllegalOperation));
    }
}
