//! Thread keys `budget-us` / `period-us` (scheduling contexts on MCS kernels): defaults, the
//! plan values, and located errors.

const BASE: &str = include_str!("../../manifests/default.toml");

fn with_kicker(extra: &str) -> String {
    let text = BASE.replace(
        "name = \"kicker\"\nid = 2\npriority = 110\n",
        &format!("name = \"kicker\"\nid = 2\npriority = 110\n{extra}"),
    );
    assert_ne!(text, BASE, "the default manifest has the kicker thread");
    text
}

#[test]
fn defaults_are_a_round_robin_10_ms_slice() {
    let system = manifest::load_str("m.toml", BASE).expect("valid");
    for c in &system.components {
        for t in &c.threads {
            assert_eq!((t.budget_us, t.period_us), (10_000, 10_000), "{}", c.name);
        }
    }
}

#[test]
fn given_values_reach_the_plan() {
    let system = manifest::load_str(
        "m.toml",
        &with_kicker("budget-us = 2000\nperiod-us = 50000\n"),
    )
    .expect("valid");
    let vmm = system.components.iter().find(|c| c.name == "vmm").unwrap();
    assert_eq!(
        (vmm.threads[1].budget_us, vmm.threads[1].period_us),
        (2000, 50_000)
    );
    let budget_only = manifest::load_str("m.toml", &with_kicker("budget-us = 20000\n"))
        .expect("an absent period is at least the budget");
    let vmm = budget_only
        .components
        .iter()
        .find(|c| c.name == "vmm")
        .unwrap();
    assert_eq!(
        (vmm.threads[1].budget_us, vmm.threads[1].period_us),
        (20_000, 20_000)
    );
}

#[test]
fn bad_values_are_located_errors() {
    for (extra, want) in [
        ("budget-us = 5\n", "budget-us 5 is out of range"),
        (
            "budget-us = 3000\nperiod-us = 1000\n",
            "budget-us 3000 is above the period 1000",
        ),
    ] {
        let text = with_kicker(extra);
        let errs = manifest::load_str("m.toml", &text).expect_err(extra);
        let shown: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(
            shown
                .iter()
                .any(|e| e.contains(want) && e.starts_with("m.toml:")),
            "{shown:?}"
        );
    }
}
