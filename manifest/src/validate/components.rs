//! Components, threads, ids, endpoints and the priority ordering rule.

use plan::{ClientLimits, MAX_CLIENTS, MAX_THREADS, Role, cspace, vspace};
use vcpu_server::{Kind, Limits};

use super::{Ctx, Hv, Span, resolve_component};
use crate::diag::ErrorKind;
use crate::schema::{RawLimits, RawManifest, RoleName, SizeRepr};
use crate::values::{KIB4, check_name, check_program, parse_size, show_size};

/// Default stack size of a thread.
pub const DEFAULT_STACK: u64 = 64 << 10;

/// A component after the component-level checks.
pub(crate) struct Comp {
    pub name: String,
    pub name_span: Span,
    pub program: String,
    pub description: Option<String>,
    pub role: Role,
    pub role_span: Span,
    pub client_id: Option<u16>,
    pub cspace_bits: Option<(u8, Span)>,
    pub heap_size: u64,
    pub heap_span: Option<Span>,
    pub threads: Vec<Thr>,
    pub endpoint: Option<Ep>,
    /// `expect = "stopped"` (test systems only).
    pub expect_stopped: bool,
    /// How often the root task restarts it when it is stopped (`restart = "on-failure"`,
    /// `max-restarts`); 0: never.
    pub restarts: u16,
    /// Where `restart` is written.
    pub restart_span: Option<Span>,
}

/// Highest thread `core` a manifest may name (the build also checks it against the kernel).
const MAX_CORE: i64 = 7;

/// A thread after the checks.
pub(crate) struct Thr {
    pub name: String,
    pub name_span: Span,
    pub id: Option<u16>,
    pub priority: u8,
    pub priority_span: Span,
    pub entry: u32,
    pub stack_size: u64,
    pub core: u8,
    /// Where the manifest names the core (`file:line:col`), for the build's check against the
    /// kernel's number of cores.
    pub core_location: Option<String>,
    /// Scheduling-context budget and period on MCS kernels (µs).
    pub budget_us: u64,
    pub period_us: u64,
}

/// Default budget and period of a thread's scheduling context on MCS kernels (µs): equal, so
/// round-robin with a 10 ms slice (the non-MCS kernels' 5 ticks of 2 ms).
pub const DEFAULT_PERIOD_US: u64 = 10_000;
/// Smallest budget the kernel accepts on QEMU `virt` (2 x its 10 µs WCET).
pub const MIN_BUDGET_US: u64 = 20;
/// Largest period the manifest accepts (one hour; the kernel's limit is far above).
pub const MAX_PERIOD_US: u64 = 3_600_000_000;

/// Budget and period of a thread's scheduling context: each in range, budget <= period;
/// defaults [`DEFAULT_PERIOD_US`] (an absent period is at least the budget).
fn sched_params(
    cx: &mut Ctx<'_>,
    budget: Option<&toml::Spanned<i64>>,
    period: Option<&toml::Spanned<i64>>,
) -> (u64, u64) {
    let (lo, hi) = (MIN_BUDGET_US as i64, MAX_PERIOD_US as i64);
    let b = budget.and_then(|b| cx.int_in(ErrorKind::InvalidValue, "budget-us", b, lo, hi));
    let p = period.and_then(|p| cx.int_in(ErrorKind::InvalidValue, "period-us", p, lo, hi));
    let b = b.map_or(DEFAULT_PERIOD_US, |b| b as u64);
    let p = p.map_or(b.max(DEFAULT_PERIOD_US), |p| p as u64);
    if b > p {
        let span = budget.or(period).map_or(0..0, |s| s.span());
        cx.err(
            ErrorKind::InvalidValue,
            span,
            format!("budget-us {b} is above the period {p} (a thread cannot get more than all of its period)"),
        );
    }
    (b, p.max(b))
}

/// A client's endpoint entry.
pub(crate) struct Ep {
    pub send_caps: bool,
    /// The client's limits in the server (defaults where the manifest gives none).
    pub limits: ClientLimits,
    /// `memory` is given in the manifest (else it follows the guest and VCPU limits).
    pub memory_given: bool,
    /// Components (indices) it may send handles to (`send-handles-to`).
    pub send_to: Vec<usize>,
    /// Indices of the threads that hold the endpoint.
    pub threads: Vec<usize>,
}

fn line_of(cx: &Ctx<'_>, span: &Span) -> usize {
    cx.src.line_col(span.start).0
}

/// Error kinds and wording of an id that only clients carry (a client id, a client thread id).
struct IdRule {
    what: &'static str,
    presence: ErrorKind,
    range: ErrorKind,
    duplicate: ErrorKind,
}

/// Checks an id that clients must have and other roles must not: presence by role, the range
/// 1..=65535, and uniqueness among `seen` (to which a valid id is added with its `owner`).
#[allow(clippy::too_many_arguments)]
fn client_only_id(
    cx: &mut Ctx<'_>,
    rule: &IdRule,
    role: Role,
    value: Option<&toml::Spanned<i64>>,
    owner_span: Span,
    owner: String,
    seen: &mut Vec<(u16, String)>,
    missing: impl FnOnce() -> String,
    not_client: impl FnOnce() -> String,
) -> Option<u16> {
    match (value, role) {
        (None, Role::Client) => {
            cx.err(rule.presence, owner_span, missing());
            None
        }
        (Some(id), Role::Server | Role::Isolated) => {
            cx.err(rule.presence, id.span(), not_client());
            None
        }
        (Some(id), Role::Client) => {
            let v = cx.int_in(rule.range, rule.what, id, 1, 0xFFFF)? as u16;
            if let Some((_, other)) = seen.iter().find(|(i, _)| *i == v) {
                let msg = format!("{} {v} is already used by `{other}`", rule.what);
                cx.err(rule.duplicate, id.span(), msg);
            }
            seen.push((v, owner));
            Some(v)
        }
        (None, _) => None,
    }
}

/// Parses a size value, reporting unparsable text as `invalid-value`.
pub(crate) fn size_value(cx: &mut Ctx<'_>, value: &toml::Spanned<SizeRepr>) -> Option<u64> {
    match parse_size(value.get_ref()) {
        Ok(v) => Some(v),
        Err(why) => {
            cx.err(ErrorKind::InvalidValue, value.span(), why);
            None
        }
    }
}

/// Checks a page-multiple size in `min..=max`, reporting `kind`.
fn sized(
    cx: &mut Ctx<'_>,
    kind: ErrorKind,
    what: &str,
    value: &toml::Spanned<SizeRepr>,
    min: u64,
    max: u64,
) -> Option<u64> {
    let v = size_value(cx, value)?;
    if v % KIB4 != 0 || v < min || v > max {
        cx.err(
            kind,
            value.span(),
            format!(
                "{what} {v:#x} must be a multiple of 4 KiB between {} and {}",
                show_size(min),
                show_size(max)
            ),
        );
        return None;
    }
    Some(v)
}

pub(crate) fn check_components(cx: &mut Ctx<'_>, raw: &RawManifest) -> Vec<Comp> {
    let mut comps: Vec<Comp> = Vec::new();
    let mut client_ids: Vec<(u16, String)> = Vec::new();
    let mut thread_ids: Vec<(u16, String)> = Vec::new();
    for rc in &raw.components {
        let rc = rc.get_ref();
        let name = rc.name.get_ref().clone();
        if let Err(why) = check_name(&name, plan::bootpage::NAME_LEN - 1) {
            cx.err(
                ErrorKind::BadName,
                rc.name.span(),
                format!("component {why}"),
            );
        }
        if let Some(prev) = comps.iter().find(|c| c.name == name) {
            let line = line_of(cx, &prev.name_span);
            cx.err(
                ErrorKind::DuplicateName,
                rc.name.span(),
                format!("component `{name}` is already defined on line {line}"),
            );
        }
        if let Err(why) = check_program(rc.program.get_ref()) {
            cx.err(ErrorKind::BadName, rc.program.span(), why);
        }
        let role = match rc.role.get_ref() {
            RoleName::Server => Role::Server,
            RoleName::Client => Role::Client,
            RoleName::Isolated => Role::Isolated,
        };

        let client_id = client_only_id(
            cx,
            &IdRule {
                what: "client-id",
                presence: ErrorKind::ClientIdPresence,
                range: ErrorKind::ClientIdRange,
                duplicate: ErrorKind::DuplicateClientId,
            },
            role,
            rc.client_id.as_ref(),
            rc.name.span(),
            name.clone(),
            &mut client_ids,
            || format!("client `{name}` needs a `client-id` (1..=65535, unique)"),
            || format!("`{name}` is not a client, so it must not have a `client-id`"),
        );
        if let (Some(_), Some(id)) = (client_id, &rc.client_id) {
            if client_ids.len() == MAX_CLIENTS + 1 {
                let msg = format!("more than {MAX_CLIENTS} clients");
                cx.err(ErrorKind::TooMany, id.span(), msg);
            }
        }

        let priority = cx.int_in(ErrorKind::PriorityRange, "priority", &rc.priority, 0, 254);
        let default_stack = match &rc.stack_size {
            Some(s) => sized(
                cx,
                ErrorKind::StackSize,
                "stack-size",
                s,
                KIB4,
                vspace::MAX_STACK,
            ),
            None => Some(DEFAULT_STACK),
        };
        let heap_size = rc
            .heap_size
            .as_ref()
            .and_then(|h| sized(cx, ErrorKind::HeapSize, "heap-size", h, 0, vspace::MAX_HEAP))
            .unwrap_or(0);
        let cspace_bits = rc.cspace_bits.as_ref().and_then(|b| {
            let (lo, hi) = (cspace::MIN_SIZE_BITS as i64, cspace::MAX_SIZE_BITS as i64);
            cx.int_in(ErrorKind::CspaceSize, "cspace-bits", b, lo, hi)
                .map(|v| (v as u8, b.span()))
        });

        if rc.threads.is_empty() {
            cx.err(
                ErrorKind::ThreadCount,
                rc.name.span(),
                format!("component `{name}` has no `[[component.thread]]`; it needs at least a main thread"),
            );
        }
        let mut threads: Vec<Thr> = Vec::new();
        for (index, rt) in rc.threads.iter().enumerate() {
            let rt = rt.get_ref();
            let tname = rt.name.get_ref().clone();
            if index == MAX_THREADS {
                cx.err(
                    ErrorKind::ThreadCount,
                    rt.name.span(),
                    format!("component `{name}` has more than {MAX_THREADS} threads"),
                );
            }
            if let Err(why) = check_name(&tname, plan::bootpage::THREAD_NAME_LEN - 1) {
                cx.err(ErrorKind::BadName, rt.name.span(), format!("thread {why}"));
            }
            if let Some(prev) = threads.iter().find(|t| t.name == tname) {
                let line = line_of(cx, &prev.name_span);
                cx.err(
                    ErrorKind::DuplicateName,
                    rt.name.span(),
                    format!("`{name}` already has a thread `{tname}` (line {line})"),
                );
            }
            let id = client_only_id(
                cx,
                &IdRule {
                    what: "thread id",
                    presence: ErrorKind::ThreadIdPresence,
                    range: ErrorKind::ThreadIdRange,
                    duplicate: ErrorKind::DuplicateThreadId,
                },
                role,
                rt.id.as_ref(),
                rt.name.span(),
                format!("{name}/{tname}"),
                &mut thread_ids,
                || {
                    format!(
                        "client thread `{name}/{tname}` needs an `id` (1..=65535, unique in the system)"
                    )
                },
                || format!("`{name}` is not a client, so its threads have no `id` (no badge)"),
            );
            let (tprio, prio_span) = match &rt.priority {
                Some(p) => (
                    cx.int_in(ErrorKind::PriorityRange, "priority", p, 0, 254),
                    p.span(),
                ),
                None => (priority, rc.priority.span()),
            };
            let entry = match &rt.entry {
                Some(e) => cx.int_in(ErrorKind::InvalidValue, "entry", e, 0, u32::MAX as i64),
                None => Some(index as i64),
            };
            let stack = match &rt.stack_size {
                Some(s) => sized(
                    cx,
                    ErrorKind::StackSize,
                    "stack-size",
                    s,
                    KIB4,
                    vspace::MAX_STACK,
                ),
                None => default_stack,
            };
            let core = match &rt.core {
                Some(c) => cx.int_in(ErrorKind::CoreRange, "core", c, 0, MAX_CORE),
                None => Some(0),
            };
            let (budget_us, period_us) =
                sched_params(cx, rt.budget_us.as_ref(), rt.period_us.as_ref());
            threads.push(Thr {
                core: core.unwrap_or(0) as u8,
                core_location: rt.core.as_ref().map(|c| {
                    let (line, col) = cx.src.line_col(c.span().start);
                    format!("{}:{line}:{col}", cx.src.name())
                }),
                budget_us,
                period_us,
                name: tname,
                name_span: rt.name.span(),
                id,
                priority: tprio.unwrap_or(0) as u8,
                priority_span: prio_span,
                entry: entry.unwrap_or(0) as u32,
                stack_size: stack.unwrap_or(DEFAULT_STACK),
            });
        }
        comps.push(Comp {
            name,
            name_span: rc.name.span(),
            program: rc.program.get_ref().clone(),
            description: rc.description.clone(),
            role,
            role_span: rc.role.span(),
            client_id,
            cspace_bits,
            heap_size,
            heap_span: rc.heap_size.as_ref().map(|h| h.span()),
            threads,
            endpoint: None,
            expect_stopped: rc.expect.is_some(),
            restarts: check_restart(cx, rc, role),
            restart_span: rc.restart.as_ref().map(|r| r.span()),
        });
    }
    comps
}

/// Largest `max-restarts`.
pub const MAX_RESTARTS: i64 = 1000;
/// `max-restarts` when `restart = "on-failure"` does not say.
pub const DEFAULT_RESTARTS: u16 = 3;

/// `restart` (`"never"`, the default, or `"on-failure"`) and `max-restarts` (1..=1000, only with
/// `"on-failure"`, default 3). The server cannot be restarted (every client depends on its
/// state). Returns the number of restarts allowed.
fn check_restart(cx: &mut Ctx<'_>, rc: &crate::schema::RawComponent, role: Role) -> u16 {
    let on_failure = match rc
        .restart
        .as_ref()
        .map(|r| (r.get_ref().as_str(), r.span()))
    {
        None | Some(("never", _)) => false,
        Some(("on-failure", span)) => {
            if role == Role::Server {
                cx.err(
                    ErrorKind::Restart,
                    span,
                    "the VCPU server cannot be restarted: its clients' objects would be lost",
                );
                return 0;
            }
            true
        }
        Some((other, span)) => {
            cx.err(
                ErrorKind::Restart,
                span,
                format!("restart `{other}` is unknown: \"never\" or \"on-failure\""),
            );
            return 0;
        }
    };
    match (&rc.max_restarts, on_failure) {
        (None, true) => DEFAULT_RESTARTS,
        (None, false) => 0,
        (Some(m), false) => {
            cx.err(
                ErrorKind::Restart,
                m.span(),
                "max-restarts needs `restart = \"on-failure\"`",
            );
            0
        }
        (Some(m), true) => cx
            .int_in(ErrorKind::Restart, "max-restarts", m, 1, MAX_RESTARTS)
            .map_or(0, |v| v as u16),
    }
}

pub(crate) fn check_endpoints(cx: &mut Ctx<'_>, raw: &RawManifest, comps: &mut [Comp]) {
    let mut seen: Vec<(usize, Span)> = Vec::new();
    for re in &raw.endpoints {
        let re = re.get_ref();
        let Some(ci) = resolve_component(cx, comps, &re.client) else {
            continue;
        };
        let c = &comps[ci];
        if c.role != Role::Client {
            let msg = match c.role {
                Role::Isolated => format!(
                    "`{}` is isolated: it must have no endpoint to the server (make it a client)",
                    c.name
                ),
                _ => format!(
                    "`{}` is the server; only clients get an endpoint to it",
                    c.name
                ),
            };
            cx.err(ErrorKind::RoleMismatch, re.client.span(), msg);
            continue;
        }
        if let Some((_, prev)) = seen.iter().find(|(i, _)| *i == ci) {
            let line = line_of(cx, prev);
            let msg = format!(
                "client `{}` already has an [[endpoint]] (line {line})",
                c.name
            );
            cx.err(ErrorKind::DuplicateEndpoint, re.client.span(), msg);
            continue;
        }
        seen.push((ci, re.client.span()));
        let threads = match &re.threads {
            None => (0..c.threads.len()).collect(),
            Some(list) => {
                let mut out: Vec<usize> = Vec::new();
                for tn in list {
                    match c.threads.iter().position(|t| t.name == *tn.get_ref()) {
                        None => {
                            let known: Vec<&str> =
                                c.threads.iter().map(|t| t.name.as_str()).collect();
                            cx.err(
                                ErrorKind::UnknownThread,
                                tn.span(),
                                format!(
                                    "`{}` has no thread `{}` (threads: {})",
                                    c.name,
                                    tn.get_ref(),
                                    known.join(", ")
                                ),
                            );
                        }
                        Some(ti) if out.contains(&ti) => {
                            let msg = format!("thread `{}` is listed twice", tn.get_ref());
                            cx.err(ErrorKind::DuplicateName, tn.span(), msg);
                        }
                        Some(ti) => out.push(ti),
                    }
                }
                out.sort_unstable();
                out
            }
        };
        let limits = check_limits(cx, re.limits.as_ref().map(|l| l.get_ref()));
        let mut send_to = Vec::new();
        for name in re.send_handles_to.iter().flatten() {
            let Some(ti) = resolve_component(cx, comps, name) else {
                continue;
            };
            if comps[ti].role != Role::Client {
                let msg = format!(
                    "`{}` is not a client: handles can only be sent to clients",
                    comps[ti].name
                );
                cx.err(ErrorKind::RoleMismatch, name.span(), msg);
            } else if send_to.contains(&ti) {
                let msg = format!("`{}` is listed twice", comps[ti].name);
                cx.err(ErrorKind::DuplicateName, name.span(), msg);
            } else {
                send_to.push(ti);
            }
        }
        comps[ci].endpoint = Some(Ep {
            send_caps: re.send_caps.unwrap_or(false),
            limits,
            memory_given: re
                .limits
                .as_ref()
                .is_some_and(|l| l.get_ref().memory.is_some()),
            send_to,
            threads,
        });
    }
    check_capacity(cx, raw, comps);
    for c in comps.iter() {
        if c.role == Role::Client && c.endpoint.is_none() {
            cx.err(
                ErrorKind::MissingEndpoint,
                c.name_span.clone(),
                format!(
                    "client `{}` has no [[endpoint]]; add one, or make it `role = \"isolated\"` \
                     if it must not reach the server",
                    c.name
                ),
            );
        }
    }
}

/// The `[hypervisor]` budgets cap every client's own limits: a client may have at most
/// `max-guests` guests and `max-vcpus` VCPUs (fewer if its limits say so), so no client can
/// take a budget another needs. A `memory` the manifest does not give follows the capped limits.
pub(crate) fn cap_to_budgets(comps: &mut [Comp], hv: &Hv) {
    for ep in comps.iter_mut().filter_map(|c| c.endpoint.as_mut()) {
        let l = &mut ep.limits;
        l.guests = l.guests.min(hv.max_guests);
        l.vcpus = l.vcpus.min(hv.max_vcpus);
        if !ep.memory_given {
            l.memory = plan::default_client_memory(l.guests, l.vcpus);
        }
    }
}

/// The server's default limits as plan values.
pub(crate) const fn default_limits() -> ClientLimits {
    let d = Limits::DEFAULT;
    ClientLimits {
        handles: d.handles,
        guests: d.guests,
        vcpus: d.vcpus,
        ports: d.ports,
        traps: d.traps,
        mappings: d.mappings,
        memory: plan::default_client_memory(d.guests, d.vcpus),
    }
}

/// `[endpoint.limits]`: each given value in range (handles 1..=the largest table, the others
/// 0..=the server's capacity of that kind), defaults for the rest.
fn check_limits(cx: &mut Ctx<'_>, raw: Option<&RawLimits>) -> ClientLimits {
    let mut out = default_limits();
    let Some(raw) = raw else { return out };
    let cap = Limits::CAPACITY;
    /// Name, manifest value, destination, largest and smallest value.
    type Field<'a> = (
        &'a str,
        &'a Option<toml::Spanned<i64>>,
        &'a mut u16,
        u16,
        i64,
    );
    let fields: [Field<'_>; 6] = [
        ("handles", &raw.handles, &mut out.handles, cap.handles, 1),
        ("guests", &raw.guests, &mut out.guests, cap.guests, 0),
        ("vcpus", &raw.vcpus, &mut out.vcpus, cap.vcpus, 0),
        ("ports", &raw.ports, &mut out.ports, cap.ports, 0),
        ("traps", &raw.traps, &mut out.traps, cap.traps, 0),
        (
            "mappings",
            &raw.mappings,
            &mut out.mappings,
            cap.mappings,
            0,
        ),
    ];
    for (what, value, slot, hi, lo) in fields {
        if let Some(v) = value {
            let what = format!("limit `{what}`");
            if let Some(v) = cx.int_in(ErrorKind::LimitRange, &what, v, lo, i64::from(hi)) {
                *slot = v as u16;
            }
        }
    }
    out.memory = plan::default_client_memory(out.guests, out.vcpus);
    if let Some(m) = &raw.memory {
        if let Some(v) = check_memory(cx, m) {
            out.memory = v;
        }
    }
    out
}

/// `memory` of `[endpoint.limits]`: a multiple of 4 KiB (0: the client makes no kernel
/// objects), given to the server in at most [`plan::MAX_MEMORY_BLOCKS`] power-of-two blocks.
fn check_memory(cx: &mut Ctx<'_>, value: &toml::Spanned<SizeRepr>) -> Option<u64> {
    let v = size_value(cx, value)?;
    let blocks = super::grants::untyped_blocks(v).len();
    let why = if v % KIB4 != 0 {
        "must be a multiple of 4 KiB".to_string()
    } else if v > plan::MAX_CLIENT_MEMORY {
        format!(
            "is more than the server tracks for all clients together ({})",
            show_size(plan::MAX_CLIENT_MEMORY)
        )
    } else if blocks > plan::MAX_MEMORY_BLOCKS {
        format!(
            "splits into {blocks} power-of-two blocks; at most {} (round it to fewer set bits)",
            plan::MAX_MEMORY_BLOCKS
        )
    } else {
        return Some(v);
    };
    cx.err(
        ErrorKind::LimitRange,
        value.span(),
        format!("limit `memory` {v:#x} {why}"),
    );
    None
}

/// The limits of all clients together must fit the server's capacity of each kind, so that no
/// client's use can ever make another's requests fail. The error points at the endpoint that
/// first exceeds it.
fn check_capacity(cx: &mut Ctx<'_>, raw: &RawManifest, comps: &[Comp]) {
    let mut memory = 0u64;
    for re in &raw.endpoints {
        let re = re.get_ref();
        let Some(c) = comps.iter().find(|c| c.name == *re.client.get_ref()) else {
            continue;
        };
        let Some(ep) = &c.endpoint else { continue };
        memory += ep.limits.memory;
        if memory > plan::MAX_CLIENT_MEMORY {
            let span = re.limits.as_ref().map_or(re.client.span(), |l| l.span());
            cx.err(
                ErrorKind::ServerCapacity,
                span,
                format!(
                    "the clients' `memory` adds up to {} here, more than the server tracks ({}): \
                     lower it in [endpoint.limits]",
                    show_size(memory),
                    show_size(plan::MAX_CLIENT_MEMORY)
                ),
            );
            break;
        }
    }
    let cap = Limits::CAPACITY;
    for kind in Kind::ALL {
        let mut sum = 0u32;
        for re in &raw.endpoints {
            let re = re.get_ref();
            let Some(c) = comps.iter().find(|c| c.name == *re.client.get_ref()) else {
                continue;
            };
            let Some(ep) = &c.endpoint else { continue };
            sum += u32::from(limit_of(&ep.limits, kind));
            if sum > u32::from(cap.of(kind)) {
                let span = re.limits.as_ref().map_or(re.client.span(), |l| l.span());
                cx.err(
                    ErrorKind::ServerCapacity,
                    span,
                    format!(
                        "the clients' `{}` limits add up to {sum} here, more than the server's \
                         {}: lower them in [endpoint.limits] (default {})",
                        kind_name(kind),
                        cap.of(kind),
                        Limits::DEFAULT.of(kind)
                    ),
                );
                break;
            }
        }
    }
}

fn limit_of(l: &ClientLimits, kind: Kind) -> u16 {
    match kind {
        Kind::Guest => l.guests,
        Kind::Vcpu => l.vcpus,
        Kind::Port => l.ports,
        Kind::Trap => l.traps,
        Kind::Mapping => l.mappings,
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Guest => "guests",
        Kind::Vcpu => "vcpus",
        Kind::Port => "ports",
        Kind::Trap => "traps",
        Kind::Mapping => "mappings",
    }
}

/// The ordering rule: VCPU threads < every client thread that calls the server < every server
/// thread. A call then always goes to a more urgent server (its reply is never delayed by the
/// caller's peers), and no running guest can starve a client (a VMM's kicker or an interrupt
/// source must be able to preempt a VCPU to reach the server).
pub(crate) fn check_priorities(cx: &mut Ctx<'_>, comps: &[Comp], hv: Option<&Hv>) {
    let Some(server) = comps.iter().find(|c| c.role == Role::Server) else {
        return;
    };
    let Some(lowest) = server.threads.iter().min_by_key(|t| t.priority) else {
        return;
    };
    let callers = comps
        .iter()
        .filter_map(|c| c.endpoint.as_ref().map(|e| (c, e)));
    let callers: Vec<(&Comp, &Thr)> = callers
        .flat_map(|(c, e)| e.threads.iter().map(move |&i| (c, &c.threads[i])))
        .collect();
    for (c, t) in &callers {
        if t.priority >= lowest.priority {
            cx.err(
                ErrorKind::PriorityOrder,
                t.priority_span.clone(),
                format!(
                    "client thread `{}/{}` has priority {}, not below server thread `{}/{}` ({}): \
                     clients must be less urgent than the server they call",
                    c.name, t.name, t.priority, server.name, lowest.name, lowest.priority
                ),
            );
        }
    }
    let Some(hv) = hv else { return };
    if hv.vcpu_priority >= lowest.priority {
        cx.err(
            ErrorKind::PriorityOrder,
            hv.vcpu_priority_span.clone(),
            format!(
                "vcpu-priority {} is not below server thread `{}/{}` ({}): the server must \
                 preempt the VCPUs it runs",
                hv.vcpu_priority, server.name, lowest.name, lowest.priority
            ),
        );
    }
    if let Some((c, t)) = callers.iter().find(|(_, t)| t.priority <= hv.vcpu_priority) {
        cx.err(
            ErrorKind::PriorityOrder,
            hv.vcpu_priority_span.clone(),
            format!(
                "vcpu-priority {} is not below client thread `{}/{}` ({}): a running guest \
                 would starve it",
                hv.vcpu_priority, c.name, t.name, t.priority
            ),
        );
    }
}

/// Name and program of the console component every system gets (see `plan::console`).
pub const CONSOLE: &str = "console";
/// Priority of the console's thread: above every component thread, below the root task, so a
/// print is written as soon as it is made.
pub const CONSOLE_PRIORITY: u8 = 254;
/// Stack of the console's thread.
pub const CONSOLE_STACK: u64 = 16 << 10;

/// Appends the console component (isolated: it holds no endpoint to the server) and returns its
/// index; `span` is where errors about it point (the system name). A manifest component of the
/// same name is an error: the name is reserved.
pub(crate) fn add_console(cx: &mut Ctx<'_>, comps: &mut Vec<Comp>, span: Span) -> usize {
    if let Some(c) = comps.iter().find(|c| c.name == CONSOLE) {
        cx.err(
            ErrorKind::DuplicateName,
            c.name_span.clone(),
            "the component name `console` is reserved: every system gets the console component, \
             which owns the UART",
        );
    }
    comps.push(Comp {
        name: CONSOLE.to_string(),
        name_span: span.clone(),
        program: CONSOLE.to_string(),
        description: Some(
            "the console: owns the PL011 UART; every component prints through it".into(),
        ),
        role: Role::Isolated,
        role_span: span.clone(),
        client_id: None,
        cspace_bits: None,
        heap_size: 0,
        heap_span: None,
        threads: vec![Thr {
            name: "main".to_string(),
            name_span: span.clone(),
            id: None,
            priority: CONSOLE_PRIORITY,
            priority_span: span,
            entry: 0,
            stack_size: CONSOLE_STACK,
            core: 0,
            core_location: None,
            budget_us: DEFAULT_PERIOD_US,
            period_us: DEFAULT_PERIOD_US,
        }],
        endpoint: None,
        expect_stopped: false,
        restarts: 0,
        restart_span: None,
    });
    comps.len() - 1
}
