//! One AFL++ harness for every target: `ling-fuzz TARGET` fuzzes the named target from
//! `ling_fuzzing::TARGETS` in AFL's persistent mode. `scripts/fuzz.sh` runs them all.

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = ling_fuzzing::target(&name) else {
        eprintln!(
            "ling-fuzz: unknown target {name:?}; targets: {}",
            ling_fuzzing::TARGETS
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", ")
        );
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| {
        (target.run)(data);
    });
}
