//! The gateway's modules form layers: wire format, upstream client, loaders and paging, types,
//! queries and mutations, HTTP. A module never reaches back up; this test reads the sources and
//! fails on any cycle among `src/gateway`'s modules, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module of `src/gateway` → the modules (or `gateway` itself, for the root's items) it uses.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![(String::from("gateway"), root.join("gateway.rs"))];
    let mut dirs = vec![root.join("gateway")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/gateway is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path.strip_prefix(root.join("gateway")).expect("under it");
                let top = relative
                    .components()
                    .next()
                    .expect("a first component")
                    .as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_owned();
                files.push((top, path));
            }
        }
    }
    let modules: BTreeSet<String> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, path) in &files {
        let text = std::fs::read_to_string(path).expect("a readable source file");
        // Code only: a doc link to another module is not a use of it, and unit tests (at the
        // end of a file, where `super::` is the file's own module) are not part of the graph.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let text: String = code
            .lines()
            .map(|line| line.split("//").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        // `super::` of a file directly in src/gateway is the gateway module itself.
        let top_level = path.parent() == Some(&root.join("gateway"));
        let mut prefixes = vec!["crate::gateway::"];
        if top_level {
            prefixes.push("super::");
        }
        for prefix in prefixes {
            for (at, _) in text.match_indices(prefix) {
                for name in used_names(&text[at + prefix.len()..]) {
                    if name == "*" {
                        continue;
                    }
                    let target = if modules.contains(&name) && name != "gateway" {
                        name
                    } else {
                        "gateway".to_owned()
                    };
                    if &target != module {
                        graph.entry(module.clone()).or_default().insert(target);
                    }
                }
            }
        }
    }
    graph
}

/// The first path segment of each thing used after `crate::gateway::`: one name, or each of a
/// `{...}` group.
fn used_names(rest: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '*')
            .collect()
    };
    let Some(group) = rest.strip_prefix('{') else {
        return vec![ident(rest)];
    };
    let mut names = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                names.push(ident(&group[start..i]));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                names.push(ident(&group[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_gateway_modules_use_each_other_without_cycles() {
    let graph = dependencies();
    assert!(
        graph
            .get("types")
            .is_some_and(|deps| deps.contains("context")),
        "the reader found no dependencies: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!("the gateway's modules form a cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_cycle_finder_finds_one() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    graph.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    graph.get_mut("c").expect("c").clear();
    assert_eq!(find_cycle(&graph), None);
}
