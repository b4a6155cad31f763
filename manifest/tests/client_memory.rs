//! A client's kernel memory in the server (`memory` in `[endpoint.limits]`) and the
//! `[hypervisor]` budgets as caps of every client's own limits (issue 10).

use plan::{Cap, default_client_memory};

const SMOKE: &str = include_str!("../../tests/qemu/vcpu-smoke.toml");
const DEFAULT: &str = include_str!("../../manifests/default.toml");

#[test]
fn budgets_cap_each_clients_limits_and_its_default_memory() {
    // vcpu-smoke: max-guests = 1, max-vcpus = 1, the client's limits are the defaults.
    let system = manifest::load_str("m.toml", SMOKE).expect("valid");
    let client = system
        .components
        .iter()
        .find(|c| c.endpoint.is_some())
        .unwrap();
    let l = client.endpoint.as_ref().unwrap().limits;
    assert_eq!((l.guests, l.vcpus), (1, 1));
    assert_eq!(l.memory, default_client_memory(1, 1));
}

#[test]
fn the_server_gets_each_clients_memory_in_its_own_untypeds() {
    let system = manifest::load_str("m.toml", DEFAULT).expect("valid");
    let server = &system.components[system.server];
    for c in system.components.iter().filter(|c| c.endpoint.is_some()) {
        let memory = c.endpoint.as_ref().unwrap().limits.memory;
        let given: u64 = server
            .caps
            .iter()
            .filter_map(|cp| match cp.cap {
                Cap::ClientMemory {
                    client_id,
                    size_bits,
                } if Some(client_id) == c.client_id => Some(1u64 << size_bits),
                _ => None,
            })
            .sum();
        assert_eq!(given, memory, "{}", c.name);
        assert!(memory > 0);
    }
}

#[test]
fn an_explicit_memory_is_kept() {
    let text = DEFAULT.replace(
        "send-handles-to = [\"irq-source\"]\n",
        "send-handles-to = [\"irq-source\"]\n[endpoint.limits]\nmemory = \"96K\"\n",
    );
    assert_ne!(text, DEFAULT);
    let system = manifest::load_str("m.toml", &text).expect("valid");
    let vmm = system.components.iter().find(|c| c.name == "vmm").unwrap();
    assert_eq!(vmm.endpoint.as_ref().unwrap().limits.memory, 96 * 1024);
}
