//! Per-client limits and the accounting of server objects.
//!
//! Every object the server keeps for a client is charged to the client that created it (its
//! *payer*): a guest to the `guest_create` caller, a VCPU to the `vcpu_create` caller, a port to
//! the `port_create` caller, a trap to the `guest_set_trap` caller and a mapping to the
//! `vmar_map` caller. The charge is returned when the object is destroyed, whoever dropped the
//! last reference. Handles are limited by the size of the client's own table.
//!
//! Capacity is partitioned, never shared: [`crate::Server::add_client_with`] refuses a client
//! whose limits, added to those of the clients already known, exceed the server's tables
//! ([`Limits::CAPACITY`]). So every client can always reach its own limits whatever the others
//! do, and exhausting a limit is a status for that client alone.
//!
//! Invariant (checked by [`crate::Server::check_invariants`]): each client's [`Usage`] equals
//! the number of live objects it pays for, and never exceeds its [`Limits`].

use vcpu_protocol::Status;

use crate::{MAX_GUESTS, MAX_HANDLES_PER_CLIENT, MAX_MAPPINGS, MAX_PORTS, MAX_TRAPS, MAX_VCPUS};

/// The kinds of object a client pays for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Guests (`zx_guest_create`).
    Guest,
    /// VCPUs (`zx_vcpu_create`).
    Vcpu,
    /// Ports (`zx_port_create`).
    Port,
    /// Traps (`zx_guest_set_trap`).
    Trap,
    /// Guest-physical mappings (`zx_vmar_map`).
    Mapping,
}

impl Kind {
    /// Every kind, in declaration order.
    pub const ALL: [Kind; 5] = [
        Kind::Guest,
        Kind::Vcpu,
        Kind::Port,
        Kind::Trap,
        Kind::Mapping,
    ];

    /// The status a client gets when its limit of this kind is reached: the status the same
    /// call gives when Zircon runs out (VMIDs for guests, allocation failure otherwise).
    pub const fn exhausted(self) -> Status {
        match self {
            Kind::Guest => Status::ERR_NO_RESOURCES,
            _ => Status::ERR_NO_MEMORY,
        }
    }
}

/// What one client may hold at once. Set per client in the manifest (`[endpoint.limits]`);
/// [`Limits::DEFAULT`] otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Handle-table slots (at most [`MAX_HANDLES_PER_CLIENT`]).
    pub handles: u16,
    /// Live guests it created.
    pub guests: u16,
    /// Live VCPUs it created.
    pub vcpus: u16,
    /// Live ports it created.
    pub ports: u16,
    /// Live traps it set.
    pub traps: u16,
    /// Live guest-physical mappings it made.
    pub mappings: u16,
}

impl Limits {
    /// Defaults for a client whose manifest entry sets none: eight such clients fit the server.
    pub const DEFAULT: Limits = Limits {
        handles: 64,
        guests: 4,
        vcpus: 8,
        ports: 4,
        traps: 32,
        mappings: 128,
    };

    /// The server's capacity of each kind: the sum of all clients' limits may not exceed it
    /// (`handles` is the largest table one client may have).
    pub const CAPACITY: Limits = Limits {
        handles: MAX_HANDLES_PER_CLIENT as u16,
        guests: MAX_GUESTS as u16,
        vcpus: MAX_VCPUS as u16,
        ports: MAX_PORTS as u16,
        traps: MAX_TRAPS as u16,
        mappings: MAX_MAPPINGS as u16,
    };

    /// The limit of `kind`.
    pub const fn of(&self, kind: Kind) -> u16 {
        match kind {
            Kind::Guest => self.guests,
            Kind::Vcpu => self.vcpus,
            Kind::Port => self.ports,
            Kind::Trap => self.traps,
            Kind::Mapping => self.mappings,
        }
    }
}

/// What one client holds now (the objects it pays for).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Guests.
    pub guests: u16,
    /// VCPUs.
    pub vcpus: u16,
    /// Ports.
    pub ports: u16,
    /// Traps.
    pub traps: u16,
    /// Mappings.
    pub mappings: u16,
}

impl Usage {
    /// The count of `kind`.
    pub const fn of(&self, kind: Kind) -> u16 {
        match kind {
            Kind::Guest => self.guests,
            Kind::Vcpu => self.vcpus,
            Kind::Port => self.ports,
            Kind::Trap => self.traps,
            Kind::Mapping => self.mappings,
        }
    }

    fn of_mut(&mut self, kind: Kind) -> &mut u16 {
        match kind {
            Kind::Guest => &mut self.guests,
            Kind::Vcpu => &mut self.vcpus,
            Kind::Port => &mut self.ports,
            Kind::Trap => &mut self.traps,
            Kind::Mapping => &mut self.mappings,
        }
    }

    /// Counts one more object of `kind` if `limits` allow it, else the kind's
    /// [`Kind::exhausted`] status.
    pub(crate) fn charge(&mut self, limits: &Limits, kind: Kind) -> Result<(), Status> {
        let n = self.of_mut(kind);
        if *n >= limits.of(kind) {
            return Err(kind.exhausted());
        }
        *n += 1;
        Ok(())
    }

    /// Returns the charge of one object of `kind`.
    pub(crate) fn refund(&mut self, kind: Kind) {
        let n = self.of_mut(kind);
        *n = n.saturating_sub(1);
    }
}

/// Checks that `limits` are valid for one client and that, added to `others` (the limits of
/// every client already known), they fit [`Limits::CAPACITY`]: `ZX_ERR_INVALID_ARGS` for a
/// handle table larger than [`MAX_HANDLES_PER_CLIENT`] or empty, `ZX_ERR_NO_RESOURCES` when the
/// sum of some kind would exceed the server's capacity.
pub fn admit<'a>(
    limits: &'a Limits,
    others: impl Iterator<Item = &'a Limits>,
) -> Result<(), Status> {
    if limits.handles == 0 || usize::from(limits.handles) > MAX_HANDLES_PER_CLIENT {
        return Err(Status::ERR_INVALID_ARGS);
    }
    let mut sum = [0u32; Kind::ALL.len()];
    for l in others.chain(core::iter::once(limits)) {
        for (s, kind) in sum.iter_mut().zip(Kind::ALL) {
            *s += u32::from(l.of(kind));
        }
    }
    for (s, kind) in sum.iter().zip(Kind::ALL) {
        if *s > u32::from(Limits::CAPACITY.of(kind)) {
            return Err(Status::ERR_NO_RESOURCES);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Kind, Limits, Usage, admit};
    use vcpu_protocol::Status;

    #[test]
    fn charge_stops_at_the_limit_and_refund_frees() {
        let limits = Limits {
            vcpus: 2,
            ..Limits::DEFAULT
        };
        let mut u = Usage::default();
        assert_eq!(u.charge(&limits, Kind::Vcpu), Ok(()));
        assert_eq!(u.charge(&limits, Kind::Vcpu), Ok(()));
        assert_eq!(u.charge(&limits, Kind::Vcpu), Err(Status::ERR_NO_MEMORY));
        assert_eq!(u.vcpus, 2);
        u.refund(Kind::Vcpu);
        assert_eq!(u.charge(&limits, Kind::Vcpu), Ok(()));
        let none = Limits {
            guests: 0,
            ..Limits::DEFAULT
        };
        assert_eq!(u.charge(&none, Kind::Guest), Err(Status::ERR_NO_RESOURCES));
    }

    #[test]
    fn eight_default_clients_fit_and_a_ninth_does_not() {
        let eight = [Limits::DEFAULT; 8];
        assert_eq!(admit(&Limits::DEFAULT, eight[..7].iter()), Ok(()));
        assert_eq!(
            admit(&Limits::DEFAULT, eight.iter()),
            Err(Status::ERR_NO_RESOURCES)
        );
    }

    #[test]
    fn table_sizes_are_bounded() {
        let big = Limits {
            handles: Limits::CAPACITY.handles + 1,
            ..Limits::DEFAULT
        };
        assert_eq!(admit(&big, [].iter()), Err(Status::ERR_INVALID_ARGS));
        let empty = Limits {
            handles: 0,
            ..Limits::DEFAULT
        };
        assert_eq!(admit(&empty, [].iter()), Err(Status::ERR_INVALID_ARGS));
        assert_eq!(admit(&Limits::CAPACITY, [].iter()), Ok(()));
    }
}
