//! One AFL++ harness for every target: `ling-fuzz TARGET` fuzzes the named target from
//! `ling_fuzzing::TARGETS` in AFL's persistent mode; `ling-fuzz --seeds DIR` writes the
//! project's own seeds, `ling-fuzz --list` names the targets. `scripts/fuzz.sh` runs them all.

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    if name == "--seeds" {
        // `ling-fuzz --seeds DIR`: writes the project's own seeds to DIR/TARGET/NAME.
        let dir = std::path::PathBuf::from(std::env::args().nth(2).unwrap_or_else(|| ".".into()));
        for seed in ling_fuzzing::seeds::all() {
            let folder = dir.join(seed.target);
            let written = std::fs::create_dir_all(&folder)
                .and_then(|()| std::fs::write(folder.join(&seed.name), &seed.bytes));
            if let Err(e) = written {
                eprintln!("ling-fuzz: cannot write seed {}: {e}", folder.display());
                std::process::exit(1);
            }
        }
        return;
    }
    if name == "--list" {
        for t in ling_fuzzing::TARGETS {
            println!("{}\t{}", t.name, t.what);
        }
        return;
    }
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
