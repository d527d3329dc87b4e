//! Build script: bundles GraphiQL's third-party JS/CSS into the binary so the page works offline, without committing that code.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// A folder holding the files below, either as the flat layout this script writes or as `npm pack` tarballs.
const ENV_DIR: &str = "VAULTQL_GRAPHIQL_DIR";
/// Set to `1` to fail the build, rather than warn, when the assets cannot be had.
const ENV_REQUIRE: &str = "VAULTQL_REQUIRE_GRAPHIQL";

/// Pinned together with the hashes below: bumping a version means recomputing them.
const PACKAGES: [&str; 3] = ["graphiql@4.1.2", "react@18.3.1", "react-dom@18.3.1"];

const LICENSES_FILE: &str = "LICENSES.txt";

struct Asset {
    /// File name in the flat layout and under `/graphiql/`.
    name: &'static str,
    /// Name of the `static` in the generated source.
    ident: &'static str,
    tarball: &'static str,
    member: &'static str,
    sha256: &'static str,
}

const ASSETS: [Asset; 4] = [
    Asset {
        name: "graphiql.min.js",
        ident: "GRAPHIQL_JS",
        tarball: "graphiql-4.1.2.tgz",
        member: "package/graphiql.min.js",
        sha256: "867226ba8af5ce7949903fc53932f78dac9f4bfc6cc8da0fd3869b8bc6c5256b",
    },
    Asset {
        name: "graphiql.min.css",
        ident: "GRAPHIQL_CSS",
        tarball: "graphiql-4.1.2.tgz",
        member: "package/graphiql.min.css",
        sha256: "30487e07635d312a63f647b140d37740a73c53332b0975bf4b1fe985ca6ec885",
    },
    Asset {
        name: "react.production.min.js",
        ident: "REACT_JS",
        tarball: "react-18.3.1.tgz",
        member: "package/umd/react.production.min.js",
        sha256: "d949f1c3687aedadcedac85261865f29b17cd273997e7f6b2bfc53b2f9d4c4dd",
    },
    Asset {
        name: "react-dom.production.min.js",
        ident: "REACT_DOM_JS",
        tarball: "react-dom-18.3.1.tgz",
        member: "package/umd/react-dom.production.min.js",
        sha256: "35f4f974f4b2bcd44da73963347f8952e341f83909e4498227d4e26b98f66f0d",
    },
];

/// Each package's own licence text, shipped because the code is redistributed.
const LICENSES: [Asset; 3] = [
    Asset {
        name: "graphiql@4.1.2",
        ident: "",
        tarball: "graphiql-4.1.2.tgz",
        member: "package/LICENSE",
        sha256: "4b18fbe55c4e8f9169cb702be138f4d858a2dad920c39857204ffdc9c1c9fdc4",
    },
    Asset {
        name: "react@18.3.1",
        ident: "",
        tarball: "react-18.3.1.tgz",
        member: "package/LICENSE",
        sha256: "52412d7bc7ce4157ea628bbaacb8829e0a9cb3c58f57f99176126bc8cf2bfc85",
    },
    Asset {
        name: "react-dom@18.3.1",
        ident: "",
        tarball: "react-dom-18.3.1.tgz",
        member: "package/LICENSE",
        sha256: "52412d7bc7ce4157ea628bbaacb8829e0a9cb3c58f57f99176126bc8cf2bfc85",
    },
];

fn main() {
    println!("cargo:rerun-if-changed=src/build.rs");
    println!("cargo:rerun-if-env-changed={ENV_DIR}");
    println!("cargo:rerun-if-env-changed={ENV_REQUIRE}");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let bundled = out_dir.join("graphiql");
    let available = match obtain_assets(&out_dir).and_then(|dir| copy_flat(&dir, &bundled)) {
        Ok(()) => true,
        // A release image must not ship without GraphiQL by accident (the Dockerfile sets it).
        Err(why) if env::var_os(ENV_REQUIRE).is_some_and(|v| v == "1") => {
            panic!("GraphiQL assets unavailable and {ENV_REQUIRE}=1: {why}")
        }
        Err(why) => {
            println!("cargo:warning=GraphiQL assets unavailable: {why}");
            false
        }
    };
    let source = generated_source(available.then_some(bundled.as_path()));
    fs::write(out_dir.join("graphiql_assets.rs"), source).expect("write generated source");
}

/// Returns a folder in the flat layout whose files passed the hash check.
fn obtain_assets(out_dir: &Path) -> Result<PathBuf, String> {
    if let Some(dir) = env::var_os(ENV_DIR) {
        return from_user_dir(Path::new(&dir), out_dir);
    }
    let cache = cache_dir(out_dir);
    if verify_flat(&cache).is_ok() {
        return Ok(cache);
    }
    let packed = out_dir.join("npm-pack");
    npm_pack(&packed)?;
    let unpacked = unpack(&packed, &cache, out_dir);
    let _ = fs::remove_dir_all(&packed);
    unpacked.map(|()| cache)
}

/// Tarballs when `npm pack` output is there, otherwise the flat layout.
fn from_user_dir(dir: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let blame = |why: String| format!("{ENV_DIR}={}: {why}", dir.display());
    if !dir.join(ASSETS[0].tarball).is_file() {
        return verify_flat(dir).map(|()| dir.to_path_buf()).map_err(blame);
    }
    let dest = out_dir.join("unpacked");
    unpack(dir, &dest, out_dir).map_err(blame)?;
    Ok(dest)
}

/// The target folder outlives `cargo clean -p` and profile switches, so a download happens once per checkout.
fn cache_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .unwrap_or(out_dir)
        .join("graphiql-assets")
}

fn verify_flat(dir: &Path) -> Result<(), String> {
    for asset in &ASSETS {
        let bytes = read(&dir.join(asset.name))?;
        check_hash(&bytes, asset)?;
    }
    let licenses = read(&dir.join(LICENSES_FILE))?;
    if licenses.is_empty() {
        return Err(format!("{LICENSES_FILE} is empty"));
    }
    Ok(())
}

fn npm_pack(dest: &Path) -> Result<(), String> {
    let _ = fs::remove_dir_all(dest);
    fs::create_dir_all(dest).map_err(|e| format!("create {}: {e}", dest.display()))?;
    let output = Command::new("npm")
        .arg("pack")
        .args(PACKAGES)
        .arg("--pack-destination")
        .arg(dest)
        // Bounded so an unreachable registry fails the step instead of stalling the build for minutes.
        .args([
            "--ignore-scripts",
            "--no-update-notifier",
            "--fetch-retries=1",
        ])
        .arg("--fetch-timeout=60000")
        .current_dir(dest)
        .output()
        .map_err(|e| format!("cannot run npm: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    // A cargo warning is one line, so keep npm's lines that say what went wrong, not where its log is.
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reasons: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("npm error "))
        .filter(|line| !line.starts_with(' ') && !line.contains("complete log"))
        .take(4)
        .collect();
    Err(format!(
        "`npm pack` failed ({}): {}",
        output.status,
        reasons.join("; ")
    ))
}

/// Stages next to the destination and renames, so a concurrent build never sees a half-written folder.
fn unpack(tarballs: &Path, dest: &Path, scratch: &Path) -> Result<(), String> {
    let staging = scratch.join("graphiql-staging");
    let _ = fs::remove_dir_all(&staging);
    for asset in &ASSETS {
        let bytes = extract(tarballs, asset, &staging)?;
        write(&staging.join(asset.name), &bytes)?;
    }
    write(
        &staging.join(LICENSES_FILE),
        licenses_text(tarballs, &staging)?.as_bytes(),
    )?;
    fs::remove_dir_all(staging.join("x")).map_err(|e| format!("clean staging: {e}"))?;
    let _ = fs::remove_dir_all(dest);
    if fs::rename(&staging, dest).is_err() {
        // Another build may have won the race; its result is just as good if it verifies.
        verify_flat(dest)?;
    }
    Ok(())
}

fn licenses_text(tarballs: &Path, staging: &Path) -> Result<String, String> {
    let mut text = String::from("Third-party software bundled for the GraphiQL page.\n");
    for license in &LICENSES {
        let bytes = extract(tarballs, license, staging)?;
        let body = String::from_utf8_lossy(&bytes);
        text.push_str(&format!("\n==== {} ====\n\n{body}\n", license.name));
    }
    Ok(text)
}

/// Uses the system `tar` so the build needs no archive crates.
fn extract(tarballs: &Path, asset: &Asset, staging: &Path) -> Result<Vec<u8>, String> {
    let tarball = tarballs.join(asset.tarball);
    let into = staging.join("x").join(asset.tarball);
    fs::create_dir_all(&into).map_err(|e| format!("create {}: {e}", into.display()))?;
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&into)
        .arg(asset.member)
        .status()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if !status.success() {
        return Err(format!(
            "tar could not extract {} from {}",
            asset.member,
            tarball.display()
        ));
    }
    let bytes = read(&into.join(asset.member))?;
    check_hash(&bytes, asset)?;
    Ok(bytes)
}

fn check_hash(bytes: &[u8], asset: &Asset) -> Result<(), String> {
    let digest = Sha256::digest(bytes);
    let actual = format!("{digest:x}");
    if actual == asset.sha256 {
        return Ok(());
    }
    Err(format!(
        "{} from {} has SHA-256 {actual}, expected {}",
        asset.member, asset.tarball, asset.sha256
    ))
}

/// Copies into OUT_DIR so `include_bytes!` never points at a cache that may be deleted later.
fn copy_flat(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("create {}: {e}", to.display()))?;
    let names = ASSETS.iter().map(|a| a.name).chain([LICENSES_FILE]);
    for name in names {
        fs::copy(from.join(name), to.join(name)).map_err(|e| format!("copy {name}: {e}"))?;
    }
    Ok(())
}

fn generated_source(bundled: Option<&Path>) -> String {
    let mut source = format!(
        "/// Whether the build bundled GraphiQL's assets.\npub const GRAPHIQL_AVAILABLE: bool = {};\n",
        bundled.is_some()
    );
    for asset in &ASSETS {
        let expr = bundled.map_or("&[]".to_owned(), |dir| {
            format!("include_bytes!({:?})", dir.join(asset.name))
        });
        source.push_str(&format!("pub static {}: &[u8] = {expr};\n", asset.ident));
    }
    let licenses = bundled.map_or("\"\"".to_owned(), |dir| {
        format!("include_str!({:?})", dir.join(LICENSES_FILE))
    });
    source.push_str(&format!("pub static LICENSES: &str = {licenses};\n"));
    source
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("create {}: {e}", parent.display()))?;
    }
    fs::write(path, bytes).map_err(|e| format!("write {}: {e}", path.display()))
}
