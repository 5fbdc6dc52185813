//! The shape of the code, checked: no import cycles between the modules under `src/`, and
//! every module uses only modules of its own layer or of the layers below it.
//!
//! It reads the `crate::` paths of each file (outside its `#[cfg(test)] mod tests`, outside
//! comments) and names the offending line. A new module must be given a layer in `LAYERS`.
//! The layers are today's flat modules; docs/ARCHITECTURE.md says where they are going.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Lowest layer first. A module may use its own layer and the ones before it.
const LAYERS: &[(&str, &[&str])] = &[
    ("crypto: aes-gcm and the RNG", &["crypto"]),
    (
        "wire: the JSON and base64 types",
        &["bits", "envelope", "json", "batch"],
    ),
    ("keys: key pairs and recipients", &["keypair", "recipient"]),
    ("the library's error", &["error"]),
    ("oracle: one request to one answer", &["oracle"]),
    ("client", &["client"]),
    ("settings: the flags the server is built from", &["config"]),
    (
        "http: extractors, handlers, routes, OpenAPI",
        &[
            "http_error",
            "body",
            "keygen",
            "metrics",
            "api",
            "openapi",
            "routes",
        ],
    ),
    (
        "server: listener, TLS, logs, redirect, probe",
        &["server", "tls", "redirect", "telemetry", "probe"],
    ),
    ("cli: subcommands without a server", &["offline"]),
];

/// The crate root and the binary sit above every layer.
const ROOTS: &[&str] = &["lib", "main"];

/// A use of another module: where, and which.
#[derive(Debug)]
struct Use {
    line: usize,
    text: String,
    module: String,
}

/// Every module under `src/` and the other modules its non-test code names.
fn modules() -> BTreeMap<String, Vec<Use>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        assert!(
            path.extension().is_some_and(|ext| ext == "rs"),
            "{}: a folder under src/ needs this test taught about it",
            path.display()
        );
        names.insert(path.file_stem().unwrap().to_str().unwrap().to_owned());
    }
    let mut modules = BTreeMap::new();
    for name in &names {
        let text = std::fs::read_to_string(src.join(format!("{name}.rs"))).unwrap();
        let mut uses = Vec::new();
        let mut in_group = false;
        for (index, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("mod tests") || code.starts_with("pub(crate) mod tests") {
                break;
            }
            if code.starts_with("//") {
                continue;
            }
            let mut named: Vec<String> = crate_paths(code);
            // `use crate::{a, b::c};` over several lines names a and b.
            if code.starts_with("use crate::{") || code.starts_with("pub use crate::{") {
                in_group = !code.contains("};");
                named.extend(group_heads(code.split_once('{').unwrap().1));
            } else if in_group {
                in_group = !code.contains("};");
                named.extend(group_heads(code));
            }
            for module in named {
                if module != *name && names.contains(&module) {
                    uses.push(Use {
                        line: index + 1,
                        text: line.trim().to_owned(),
                        module,
                    });
                }
            }
        }
        modules.insert(name.clone(), uses);
    }
    modules
}

/// The module after each `crate::` in a line.
fn crate_paths(code: &str) -> Vec<String> {
    code.match_indices("crate::")
        .filter(|(at, _)| !code[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        .map(|(at, _)| identifier(&code[at + "crate::".len()..]))
        .filter(|name| !name.is_empty())
        .collect()
}

/// The first identifier of each item of a `use` group.
fn group_heads(items: &str) -> Vec<String> {
    items
        .split(',')
        .map(|item| identifier(item.trim()))
        .filter(|name| !name.is_empty())
        .collect()
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, members)| members.contains(&module))
}

#[test]
fn every_module_has_a_layer() {
    for module in modules().keys() {
        assert!(
            ROOTS.contains(&module.as_str()) || layer_of(module).is_some(),
            "src/{module}.rs has no layer: add it to LAYERS in tests/architecture.rs"
        );
    }
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let mut upward = Vec::new();
    for (module, uses) in modules() {
        let Some(own) = layer_of(&module) else {
            continue;
        };
        for used in uses {
            let Some(theirs) = layer_of(&used.module) else {
                continue;
            };
            if theirs > own {
                upward.push(format!(
                    "src/{module}.rs:{} ({}) uses {} ({}): `{}`",
                    used.line, LAYERS[own].0, used.module, LAYERS[theirs].0, used.text
                ));
            }
        }
    }
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

#[test]
fn no_import_cycles_between_modules() {
    let modules = modules();
    let edges: BTreeMap<&str, BTreeSet<&str>> = modules
        .iter()
        .map(|(module, uses)| {
            let targets = uses.iter().map(|used| used.module.as_str()).collect();
            (module.as_str(), targets)
        })
        .collect();
    // Depth-first search; a grey module met again closes a cycle.
    fn visit<'a>(
        module: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(start) = path.iter().position(|on| *on == module) {
            let mut cycle = path[start..].to_vec();
            cycle.push(module);
            return Some(cycle);
        }
        if !done.insert(module) {
            return None;
        }
        path.push(module);
        for next in edges.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in edges.keys() {
        if let Some(cycle) = visit(module, &edges, &mut Vec::new(), &mut done) {
            let lines: Vec<String> = cycle
                .windows(2)
                .map(|pair| {
                    let used = modules[pair[0]]
                        .iter()
                        .find(|used| used.module == pair[1])
                        .unwrap();
                    format!("src/{}.rs:{}: `{}`", pair[0], used.line, used.text)
                })
                .collect();
            panic!("import cycle {}:\n{}", cycle.join(" -> "), lines.join("\n"));
        }
    }
}

#[test]
fn the_reader_sees_grouped_and_nested_uses() {
    assert_eq!(
        crate_paths("let x = crate::json::parse_object(b)?;"),
        ["json"]
    );
    assert_eq!(
        crate_paths("use crate::error::Error; // crate::api"),
        ["error", "api"]
    );
    assert!(crate_paths("use gcm_oracle_crate::x;").is_empty());
    assert_eq!(
        group_heads("error::Error, oracle::{Answer, AnswerJson},"),
        ["error", "oracle", "AnswerJson"]
    );
}
