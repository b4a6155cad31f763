//! Handle values, per-client handle tables, and the one handle-lookup function.
//!
//! A handle value is `slot << 18 | generation << 2 | 0b11`: the low two bits are always set (as
//! in Zircon, whose handle values have fixed low bits), so 0 (`ZX_HANDLE_INVALID`) and any value
//! without them is never a handle. A slot's generation starts at 1 and advances when the handle
//! in it is removed, so a closed, replaced or sent-away handle value stays invalid (until the
//! 16-bit generation wraps, after 65536 reuses of one slot). Slots are allocated lowest first, so
//! the values a fresh client receives are predictable: the first is [`FIRST_HANDLE`] (0x7), the
//! second `encode(1, 1)` (0x40007), and so on.
//!
//! Tables are per client; a handle value is looked up only in the caller's own table, so another
//! client's values are meaningless (BAD_HANDLE) to it.

use caps::{ObjType, Operation, Rights};
use heapless::Deque;
use vcpu_protocol::{ClientId, HandleValue, Status};

use crate::quota::{Limits, Usage};
use crate::{INBOX_CAPACITY, MAX_HANDLES_PER_CLIENT};

const FIXED_BITS: u32 = 0b11;
const GENERATION_SHIFT: u32 = 2;
const SLOT_SHIFT: u32 = 18;

/// The value of the first handle installed in an empty table (slot 0, generation 1).
pub const FIRST_HANDLE: HandleValue = encode(0, 1);

/// The handle value for table slot `slot` at `generation`.
pub const fn encode(slot: usize, generation: u16) -> HandleValue {
    ((slot as u32) << SLOT_SHIFT) | ((generation as u32) << GENERATION_SHIFT) | FIXED_BITS
}

/// The slot and generation a value names, or `None` if it lacks the fixed bits.
pub const fn decode(value: HandleValue) -> Option<(usize, u16)> {
    if value & FIXED_BITS != FIXED_BITS {
        return None;
    }
    Some((
        (value >> SLOT_SHIFT) as usize,
        (value >> GENERATION_SHIFT) as u16,
    ))
}

/// The object a handle refers to: its type and its slot in the server's table of that type.
/// (A VMAR handle names the guest whose address space it is.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ObjRef {
    Resource(u16),
    Guest(u16),
    Vmar(u16),
    Vcpu(u16),
    Port(u16),
}

impl ObjRef {
    pub(crate) const fn obj_type(self) -> ObjType {
        match self {
            ObjRef::Resource(_) => ObjType::Resource,
            ObjRef::Guest(_) => ObjType::Guest,
            ObjRef::Vmar(_) => ObjType::Vmar,
            ObjRef::Vcpu(_) => ObjType::Vcpu,
            ObjRef::Port(_) => ObjType::Port,
        }
    }
}

/// What a handle holds: the object and the rights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HandleEntry {
    pub(crate) obj: ObjRef,
    pub(crate) rights: Rights,
}

#[derive(Clone, Copy)]
struct HandleSlot {
    generation: u16,
    entry: Option<HandleEntry>,
}

/// A handle that was looked up: where it sits in the caller's table and what it holds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Found {
    pub(crate) slot: usize,
    pub(crate) entry: HandleEntry,
}

/// A handle in transit to a client (`handle_send`), still counted as a handle of its object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct InFlight {
    pub(crate) entry: HandleEntry,
    pub(crate) from: ClientId,
}

/// One client: its handle table (the first [`Limits::handles`] slots of `slots` are usable),
/// its inbox, its limits and what it pays for.
pub(crate) struct Client {
    pub(crate) id: ClientId,
    slots: [HandleSlot; MAX_HANDLES_PER_CLIENT],
    pub(crate) inbox: Deque<InFlight, INBOX_CAPACITY>,
    pub(crate) limits: Limits,
    pub(crate) usage: Usage,
    /// The clients it may send handles to besides itself (declared in the manifest).
    pub(crate) may_send_to: heapless::Vec<ClientId, { crate::MAX_CLIENTS }>,
    /// The client was stopped: it holds no handles and makes no requests; it stays known while
    /// objects it paid for live on (held by others).
    pub(crate) stopped: bool,
}

impl Client {
    pub(crate) fn new(id: ClientId, limits: Limits) -> Client {
        Client {
            id,
            slots: [HandleSlot {
                generation: 1,
                entry: None,
            }; MAX_HANDLES_PER_CLIENT],
            inbox: Deque::new(),
            limits,
            usage: Usage::default(),
            may_send_to: heapless::Vec::new(),
            stopped: false,
        }
    }

    /// The usable part of the table.
    fn table(&self) -> &[HandleSlot] {
        let n = usize::from(self.limits.handles).min(MAX_HANDLES_PER_CLIENT);
        &self.slots[..n]
    }

    /// The handle `value` names in this table.
    pub(crate) fn get(&self, value: HandleValue) -> Option<Found> {
        let (slot, generation) = decode(value)?;
        let s = self.table().get(slot)?;
        match s.entry {
            Some(entry) if s.generation == generation => Some(Found { slot, entry }),
            _ => None,
        }
    }

    /// Number of free handle slots.
    pub(crate) fn free_slots(&self) -> usize {
        self.table().iter().filter(|s| s.entry.is_none()).count()
    }

    /// Installs `entry` in the lowest free slot (`ZX_ERR_NO_MEMORY` if the table is full).
    pub(crate) fn install(&mut self, entry: HandleEntry) -> Result<HandleValue, Status> {
        let slot = self
            .table()
            .iter()
            .position(|s| s.entry.is_none())
            .ok_or(Status::ERR_NO_MEMORY)?;
        self.slots[slot].entry = Some(entry);
        Ok(encode(slot, self.slots[slot].generation))
    }

    /// Removes the handle in `slot`, retiring its value.
    pub(crate) fn remove(&mut self, slot: usize) -> Option<HandleEntry> {
        let s = self.slots.get_mut(slot)?;
        let entry = s.entry.take()?;
        s.generation = s.generation.wrapping_add(1);
        Some(entry)
    }

    /// Takes every handle out of the table and the inbox (a stopped client); the caller drops
    /// their references.
    pub(crate) fn drain(
        &mut self,
    ) -> heapless::Vec<HandleEntry, { MAX_HANDLES_PER_CLIENT + INBOX_CAPACITY }> {
        let mut out = heapless::Vec::new();
        for slot in 0..self.slots.len() {
            if let Some(e) = self.remove(slot) {
                // Cannot overflow: the capacity is the table plus the inbox.
                let _ = out.push(e);
            }
        }
        while let Some(f) = self.inbox.pop_front() {
            let _ = out.push(f.entry);
        }
        out
    }

    /// Handles from `sender` waiting in this inbox.
    pub(crate) fn inbox_from(&self, sender: ClientId) -> usize {
        self.inbox.iter().filter(|f| f.from == sender).count()
    }

    /// Every handle in the table and the inbox (for invariant checks).
    pub(crate) fn entries(&self) -> impl Iterator<Item = HandleEntry> + '_ {
        self.slots
            .iter()
            .filter_map(|s| s.entry)
            .chain(self.inbox.iter().map(|f| f.entry))
    }
}

/// THE handle lookup: argument `arg` of `op`, given as `value` by a client whose table is
/// `client` (`None`: a client the server does not know, which holds no handles).
///
/// Checks, in Zircon's order: the value names a live handle of this client (else
/// `ZX_ERR_BAD_HANDLE`); the object has the type [`Operation::handle_args`] requires (else
/// `ZX_ERR_WRONG_TYPE`); the handle holds the rights the table requires plus `extra` (rights
/// that depend on request fields, such as [`Operation::vmar_map_rights`]; else
/// `ZX_ERR_ACCESS_DENIED`). An optional argument given as `ZX_HANDLE_INVALID` yields `Ok(None)`.
pub(crate) fn lookup(
    client: Option<&Client>,
    op: Operation,
    arg: usize,
    value: HandleValue,
    extra: Rights,
) -> Result<Option<Found>, Status> {
    let spec = op.handle_args().get(arg).ok_or(Status::ERR_INTERNAL)?;
    if spec.optional && value == crate::HANDLE_INVALID {
        return Ok(None);
    }
    let found = client
        .and_then(|c| c.get(value))
        .ok_or(Status::ERR_BAD_HANDLE)?;
    if spec
        .obj_type
        .is_some_and(|want| want != found.entry.obj.obj_type())
    {
        return Err(Status::ERR_WRONG_TYPE);
    }
    if !found.entry.rights.contains(spec.rights.union(extra)) {
        return Err(Status::ERR_ACCESS_DENIED);
    }
    Ok(Some(found))
}

#[cfg(test)]
mod tests {
    use super::{FIRST_HANDLE, decode, encode};

    #[test]
    fn encoding_round_trips_and_rejects_missing_fixed_bits() {
        assert_eq!(FIRST_HANDLE, 0x7);
        assert_eq!(encode(1, 1), 0x4_0007);
        assert_eq!(decode(encode(63, 0xFFFF)), Some((63, 0xFFFF)));
        assert_eq!(decode(0), None);
        assert_eq!(decode(0x4), None);
        assert_eq!(decode(0x6), None);
        assert_eq!(decode(0x5), None);
    }
}
