//! Handle operations: `handle_duplicate`, `handle_replace`, `handle_close`, and the transfer
//! pair `handle_send` / `handle_receive`.
//!
//! Decisions:
//! - `handle_replace` consumes the source whenever its lookup succeeds, even if the rights
//!   escalate (`ZX_ERR_INVALID_ARGS`): Zircon removes the handle first ("handle is always
//!   invalidated").
//! - `handle_close(ZX_HANDLE_INVALID)` is `ZX_OK` (Zircon).
//! - `handle_send` (needs TRANSFER) moves the handle into the receiver's inbox; the order is:
//!   handle lookup, receiver known **and** one the sender may send to (declared in the
//!   manifest, [`crate::Server::allow_send`]; a client may always send to itself), else
//!   `ZX_ERR_NOT_FOUND` for both, so a client learns nothing about clients it may not talk to;
//!   then the sender's share of the receiver's inbox ([`crate::INBOX_PER_SENDER`]) not full,
//!   else `ZX_ERR_SHOULD_WAIT` (like a full channel). On failure the sender keeps the handle, so
//!   it may retry.
//! - `handle_receive` pops the oldest inbox entry: empty -> `ZX_ERR_SHOULD_WAIT`; no free table
//!   slot -> `ZX_ERR_NO_MEMORY` (the handle stays in the inbox).

use caps::{Operation, Rights, derive_rights};
use vcpu_protocol::message::{HandleReply, HandleRightsReq, HandleSendReq, ReceivedHandle};
use vcpu_protocol::{ClientId, HandleValue, Reply, ReplyPayload, Sender, Status};

use crate::INBOX_PER_SENDER;
use crate::backend::Backend;
use crate::handle::{HandleEntry, InFlight};
use crate::server::Server;

fn handle_reply(handle: HandleValue) -> Reply {
    Ok(ReplyPayload::Handle(HandleReply {
        handle,
        reserved: 0,
    }))
}

impl<B: Backend> Server<B> {
    /// `zx_handle_duplicate`.
    pub(crate) fn handle_duplicate(&mut self, sender: Sender, req: HandleRightsReq) -> Reply {
        let op = Operation::HandleDuplicate;
        let found = self.lookup_required(sender.client, op, 0, req.handle, Rights::NONE)?;
        let rights = derive_rights(found.entry.rights, Rights::from_bits(req.rights))
            .map_err(|_| Status::ERR_INVALID_ARGS)?;
        let entry = HandleEntry {
            obj: found.entry.obj,
            rights,
        };
        let handle = self.install(sender.client, entry)?;
        self.add_ref(entry.obj);
        handle_reply(handle)
    }

    /// `zx_handle_replace`.
    pub(crate) fn handle_replace(&mut self, sender: Sender, req: HandleRightsReq) -> Reply {
        let op = Operation::HandleReplace;
        let found = self.lookup_required(sender.client, op, 0, req.handle, Rights::NONE)?;
        let c = self
            .client_index(sender.client)
            .ok_or(Status::ERR_BAD_HANDLE)?;
        self.clients[c].remove(found.slot);
        match derive_rights(found.entry.rights, Rights::from_bits(req.rights)) {
            Ok(rights) => {
                let entry = HandleEntry {
                    obj: found.entry.obj,
                    rights,
                };
                // Cannot fail: the source's slot was just freed.
                let handle = self.clients[c].install(entry)?;
                handle_reply(handle)
            }
            Err(_) => {
                self.release(found.entry.obj);
                Err(Status::ERR_INVALID_ARGS)
            }
        }
    }

    /// `zx_handle_close`.
    pub(crate) fn handle_close(&mut self, sender: Sender, handle: HandleValue) -> Reply {
        if handle == crate::HANDLE_INVALID {
            return Ok(ReplyPayload::Empty);
        }
        let op = Operation::HandleClose;
        let found = self.lookup_required(sender.client, op, 0, handle, Rights::NONE)?;
        let c = self
            .client_index(sender.client)
            .ok_or(Status::ERR_BAD_HANDLE)?;
        self.clients[c].remove(found.slot);
        self.release(found.entry.obj);
        Ok(ReplyPayload::Empty)
    }

    /// `handle_send`: moves a handle into another client's inbox.
    pub(crate) fn handle_send(&mut self, sender: Sender, req: HandleSendReq) -> Reply {
        let op = Operation::HandleSend;
        let found = self.lookup_required(sender.client, op, 0, req.handle, Rights::NONE)?;
        let to = u16::try_from(req.to_client)
            .ok()
            .map(ClientId)
            .filter(|&to| self.may_send(sender.client, to))
            .and_then(|to| self.client_index(to))
            .ok_or(Status::ERR_NOT_FOUND)?;
        let receiver = &self.clients[to];
        if receiver.inbox.is_full() || receiver.inbox_from(sender.client) >= INBOX_PER_SENDER {
            return Err(Status::ERR_SHOULD_WAIT);
        }
        let from = self
            .client_index(sender.client)
            .ok_or(Status::ERR_BAD_HANDLE)?;
        self.clients[from].remove(found.slot);
        let flight = InFlight {
            entry: found.entry,
            from: sender.client,
        };
        if let Err(lost) = self.clients[to].inbox.push_back(flight) {
            // Unreachable (room was checked); never leak the reference.
            self.release(lost.entry.obj);
            return Err(Status::ERR_SHOULD_WAIT);
        }
        Ok(ReplyPayload::Empty)
    }

    /// `handle_receive`: takes the oldest handle from the caller's inbox.
    pub(crate) fn handle_receive(&mut self, sender: Sender) -> Reply {
        let c = self
            .client_index(sender.client)
            .ok_or(Status::ERR_SHOULD_WAIT)?;
        let client = &mut self.clients[c];
        let flight = *client.inbox.front().ok_or(Status::ERR_SHOULD_WAIT)?;
        let handle = client.install(flight.entry)?;
        client.inbox.pop_front();
        Ok(ReplyPayload::Received(ReceivedHandle {
            handle,
            obj_type: flight.entry.obj.obj_type() as u32,
            rights: flight.entry.rights.bits(),
            from_client: u32::from(flight.from.0),
        }))
    }
}
