//! Capacity cases: the server's per-system budgets and tables run out with a status, and come
//! back when the objects are closed.

use caps::Rights;
use heapless::Vec;
use vcpu_client::{HandleValue, Status, zx_guest_create, zx_handle_duplicate, zx_port_create};

use vmm::fail;
use vmm::report::{CaseResult, expect_eq, expect_ok};

use crate::api::Api;

/// `max-guests` of tests/qemu/vcpu-api.toml.
const MAX_GUESTS: usize = 16;

/// The manifest's guest budget: guest `MAX_GUESTS + 1` is `ZX_ERR_NO_RESOURCES` (the server's
/// decision for its budget, like Zircon's VMID exhaustion); closing one frees a place.
pub fn guest_budget(a: &mut Api) -> CaseResult {
    let mut made: Vec<(HandleValue, HandleValue), MAX_GUESTS> = Vec::new();
    let mut refused = Status::OK;
    for _ in 0..=MAX_GUESTS {
        match zx_guest_create(&mut a.ctx.t, a.resource, 0) {
            Ok(pair) => {
                if made.push(pair).is_err() {
                    a.close(&[pair.0, pair.1]);
                    break;
                }
            }
            Err(s) => {
                refused = s;
                break;
            }
        }
    }
    let count = made.len();
    let mut again = Status::OK;
    if let Some(&(g, v)) = made.first() {
        a.close(&[g, v]);
        again = match zx_guest_create(&mut a.ctx.t, a.resource, 0) {
            Ok((g, v)) => {
                a.close(&[g, v]);
                Status::OK
            }
            Err(s) => s,
        };
    }
    for &(g, v) in made.iter().skip(1) {
        a.close(&[g, v]);
    }
    expect_eq("guests made", MAX_GUESTS, count)?;
    expect_eq("one more", Status::ERR_NO_RESOURCES, refused)?;
    expect_eq("after closing one", Status::OK, again)
}

/// A client's handle table (64 slots) fills up: the next new handle is `ZX_ERR_NO_MEMORY`.
pub fn handle_table_full(a: &mut Api) -> CaseResult {
    let port = expect_ok("port_create", zx_port_create(&mut a.ctx.t, 0))?;
    let mut dups: Vec<HandleValue, 64> = Vec::new();
    let mut refused = Status::OK;
    for _ in 0..64 {
        match zx_handle_duplicate(&mut a.ctx.t, port, Rights::SAME_RIGHTS) {
            Ok(h) => {
                let _ = dups.push(h);
            }
            Err(s) => {
                refused = s;
                break;
            }
        }
    }
    let full = dups.len();
    for &h in &dups {
        a.close(&[h]);
    }
    let after = zx_handle_duplicate(&mut a.ctx.t, port, Rights::SAME_RIGHTS);
    a.close(&[port]);
    if let Ok(h) = after {
        a.close(&[h]);
    }
    expect_eq("status when full", Status::ERR_NO_MEMORY, refused)?;
    if full == 0 || full >= 64 {
        return fail!("{full} duplicates fit");
    }
    expect_eq("duplicate after closing", true, after.is_ok())
}

/// The client's port limit (`[endpoint.limits]`, default 4; a thread the runtime parks holds
/// one) runs out with `ZX_ERR_NO_MEMORY`.
pub fn port_capacity(a: &mut Api) -> CaseResult {
    let mut ports: Vec<HandleValue, 16> = Vec::new();
    let mut refused = Status::OK;
    for _ in 0..16 {
        match zx_port_create(&mut a.ctx.t, 0) {
            Ok(p) => {
                let _ = ports.push(p);
            }
            Err(s) => {
                refused = s;
                break;
            }
        }
    }
    let made = ports.len();
    for &p in &ports {
        a.close(&[p]);
    }
    expect_eq("status when out of ports", Status::ERR_NO_MEMORY, refused)?;
    if made == 0 {
        return fail!("no port could be made");
    }
    let again = expect_ok("port_create after closing", zx_port_create(&mut a.ctx.t, 0))?;
    a.close(&[again]);
    Ok(())
}
