//! The Dockerfile, checked statically (no container engine runs where the tests do): every
//! `COPY` from the context names something that exists and that `.dockerignore` lets through,
//! base images carry a version, the dependencies are built in a layer before the source arrives,
//! the runtime stage runs as a non-root user, and the health check is the binary's own
//! subcommand.

use std::path::Path;

fn read(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The Dockerfile's instructions, continuation lines joined, comments dropped.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    joined
        .into_iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (word, rest) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
            (word.to_ascii_uppercase(), rest.trim().to_owned())
        })
        .collect()
}

#[test]
fn the_dockerfile_copies_what_exists_from_pinned_images_and_runs_as_a_checked_non_root_user() {
    let dockerfile = instructions(&read("Dockerfile"));
    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.trim_end_matches('/').to_owned())
        .collect();
    for needed in ["target", "vaultql-data", ".git"] {
        assert!(
            ignored.iter().any(|i| i == needed),
            ".dockerignore lacks {needed}"
        );
    }

    let froms: Vec<&String> = dockerfile
        .iter()
        .filter(|(word, _)| word == "FROM")
        .map(|(_, rest)| rest)
        .collect();
    assert!(froms.len() >= 2, "a build and a runtime stage: {froms:?}");
    // `FROM <image> AS <stage>`: a later stage may start from an earlier one by its name.
    let stages: Vec<&str> = froms
        .iter()
        .filter_map(|from| from.split_whitespace().nth(2))
        .collect();
    for from in &froms {
        let image = from.split_whitespace().next().unwrap();
        if stages.contains(&image) {
            continue;
        }
        let tag = image.split_once(':').map(|(_, tag)| tag).unwrap_or("");
        assert!(
            tag.split(['-', '.'])
                .filter(|part| part.parse::<u32>().is_ok())
                .count()
                >= 2,
            "{image} is not pinned to a version"
        );
    }

    for (word, rest) in &dockerfile {
        if word != "COPY" || rest.starts_with("--from") {
            continue;
        }
        let parts: Vec<&str> = rest.split_whitespace().collect();
        for source in &parts[..parts.len() - 1] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(source);
            assert!(path.exists(), "COPY {source}: not in the repository");
            assert!(
                !ignored.iter().any(|i| i == source.trim_end_matches('/')),
                "COPY {source}: .dockerignore leaves it out"
            );
        }
    }
    // The manifest's targets must all be in the context, or cargo refuses to build.
    let manifest = read("Cargo.toml");
    for line in manifest.lines().filter(|l| l.starts_with("path = ")) {
        let path = line.trim_start_matches("path = ").trim_matches('"');
        let top = path.split('/').next().unwrap();
        assert!(
            dockerfile.iter().any(|(word, rest)| word == "COPY"
                && rest
                    .split_whitespace()
                    .any(|s| s.trim_end_matches('/') == top)),
            "the Dockerfile does not copy {top}/ (Cargo.toml names {path})"
        );
    }

    // GraphiQL comes from a stage of its own, and the build fails without it.
    assert!(
        dockerfile.iter().any(|(word, rest)| word == "ENV"
            && rest.contains("VAULTQL_GRAPHIQL_DIR=")
            && rest.contains("VAULTQL_REQUIRE_GRAPHIQL=1")),
        "the build takes GraphiQL from its stage and requires it"
    );

    // The dependencies are compiled (cargo-chef's cook, from a recipe of the manifest and lock
    // file) before the build stage copies the source, so a source change keeps their layer.
    let build = dockerfile
        .iter()
        .position(|(word, rest)| word == "RUN" && rest.contains("cargo build --release"))
        .expect("a release build");
    let stage = dockerfile[..build]
        .iter()
        .rposition(|(word, _)| word == "FROM")
        .unwrap();
    let cook = dockerfile[stage..build]
        .iter()
        .position(|(word, rest)| word == "RUN" && rest.contains("cargo chef cook --release"))
        .expect("the build stage cooks the dependencies");
    let source = dockerfile[stage..build]
        .iter()
        .position(|(word, rest)| word == "COPY" && rest.starts_with("src "))
        .expect("the build stage copies the source");
    assert!(
        cook < source,
        "the dependencies are cooked before the source is copied"
    );
    assert!(
        dockerfile.iter().any(|(word, rest)| word == "RUN"
            && rest.contains("cargo chef prepare --recipe-path recipe.json")),
        "a planner stage makes the recipe"
    );

    let runtime = dockerfile
        .iter()
        .rposition(|(word, _)| word == "FROM")
        .unwrap();
    let user = dockerfile[runtime..]
        .iter()
        .rev()
        .find(|(word, _)| word == "USER")
        .map(|(_, rest)| rest.as_str());
    assert!(
        user.is_some_and(|user| user != "root" && user != "0"),
        "runtime user: {user:?}"
    );
    let health = dockerfile[runtime..]
        .iter()
        .find(|(word, _)| word == "HEALTHCHECK")
        .map(|(_, rest)| rest.as_str())
        .expect("a HEALTHCHECK");
    assert!(health.contains(r#"["vaultql", "healthcheck"]"#), "{health}");
}
