//! `cargo run -p manifest --example check -- FILE...`: validate manifests and print their
//! reports (a development aid; the project's CLI is `cargo xtask check-manifest`).

fn main() -> std::process::ExitCode {
    let mut failed = false;
    for file in std::env::args().skip(1) {
        match manifest::load(&file) {
            Ok(system) => print!("{}", manifest::report(&system)),
            Err(diags) => {
                failed = true;
                for d in diags {
                    eprintln!("{d}");
                }
            }
        }
    }
    if failed {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}
