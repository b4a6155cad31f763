//! Done tokens: how one component tells another, through the server (the only channel clients
//! share), that it has finished and whether all of its cases passed.
//!
//! A token is a fresh port handle moved with `handle_send`. Its rights carry the verdict: the
//! port's default rights mean "all passed", `TRANSFER` alone (the least a sendable handle can
//! have) means "something failed". The receiver closes the token after reading it.

use caps::{ObjType, Rights};
use vcpu_client::{
    Status, Transport, handle_receive, handle_send, zx_handle_close, zx_handle_replace,
    zx_port_create,
};

/// A token received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// The client that sent it.
    pub from_client: u32,
    /// Its verdict.
    pub passed: bool,
}

/// Sends a done token with the verdict `passed` to client `to_client`.
pub fn send_done<T: Transport + ?Sized>(t: &mut T, to_client: u32, passed: bool) -> Status {
    let port = match zx_port_create(t, 0) {
        Ok(p) => p,
        Err(s) => return s,
    };
    let port = if passed {
        port
    } else {
        match zx_handle_replace(t, port, Rights::TRANSFER) {
            Ok(p) => p,
            Err(s) => return s,
        }
    };
    handle_send(t, port, to_client)
}

/// Takes the oldest handle from the inbox as a done token. `ZX_ERR_SHOULD_WAIT` if the inbox
/// is empty; `ZX_ERR_WRONG_TYPE` (after closing it) for a handle that is no token.
pub fn receive_done<T: Transport + ?Sized>(t: &mut T) -> Result<Token, Status> {
    let r = handle_receive(t)?;
    let closed = zx_handle_close(t, r.handle);
    if r.obj_type != ObjType::Port as u32 {
        return Err(Status::ERR_WRONG_TYPE);
    }
    closed.ok()?;
    Ok(Token {
        from_client: r.from_client,
        passed: r.rights == ObjType::Port.default_rights().bits(),
    })
}

#[cfg(test)]
mod tests {
    use vcpu_client::{Status, handle_receive};

    use super::{Token, receive_done, send_done};
    use crate::sim::Sim;

    #[test]
    fn verdicts_travel_in_the_rights() {
        let mut sim = Sim::new([]);
        let mut t = sim.transport();
        assert_eq!(receive_done(&mut t), Err(Status::ERR_SHOULD_WAIT));
        assert_eq!(send_done(&mut t, 1, true), Status::OK);
        assert_eq!(send_done(&mut t, 1, false), Status::OK);
        let passed = Token {
            from_client: 1,
            passed: true,
        };
        assert_eq!(receive_done(&mut t), Ok(passed));
        let failed = Token {
            from_client: 1,
            passed: false,
        };
        assert_eq!(receive_done(&mut t), Ok(failed));
        assert_eq!(handle_receive(&mut t).err(), Some(Status::ERR_SHOULD_WAIT));
        assert_eq!(send_done(&mut t, 9, true), Status::ERR_NOT_FOUND);
    }
}
