//! The shape of the code, checked (docs/ARCHITECTURE.md draws it):
//!
//! - each top-level module under `src/` is a layer, and uses only the layers below it;
//! - so there are no import cycles between top-level modules (checked on its own too);
//! - the HTTP handlers never import the OpenAPI module;
//! - the crate root declares its modules private (the public interface is its `pub use`s);
//! - no file under `src/` is longer than 600 lines outside its test module.
//!
//! It reads the `crate::` paths of each file (outside its `mod tests`, outside comments),
//! resolves names the crate root re-exports (`crate::Envelope`) to the module they come from,
//! and names the offending line.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first: a top-level module may use its own layer and the ones before it.
const LAYERS: &[(&str, &str)] = &[
    ("crypto", "aes-gcm and the RNG"),
    ("wire", "the JSON and base64 contract"),
    ("keys", "key pairs and recipients"),
    ("oracle", "one request to one answer, without HTTP"),
    ("client", "the typed HTTPS client"),
    (
        "http",
        "actix: routes, extractors, handlers, OpenAPI, the HTTP error",
    ),
    (
        "server",
        "the runtime: listener, TLS, signals, redirect, logs",
    ),
    ("cli", "the command line and its subcommands"),
];

/// The crate root and the binary sit above every layer.
const ROOTS: &[&str] = &["lib", "main"];

/// The most lines a file under `src/` may have before its test module.
const MAX_LINES: usize = 600;

/// A source file: where, which top-level module it belongs to, and its non-test code.
struct File {
    path: String,
    module: String,
    /// `(line number, line)` of the code before the test module, comments left out.
    code: Vec<(usize, String)>,
    /// Lines before the test module, comments included.
    length: usize,
}

/// A use of another top-level module: where, and which.
#[derive(Debug)]
struct Use {
    path: String,
    line: usize,
    text: String,
    module: String,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn files() -> Vec<File> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&src(), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(src()).unwrap();
            let first = relative.components().next().unwrap().as_os_str();
            let module = Path::new(first)
                .file_stem()
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let mut code = Vec::new();
            let mut length = 0;
            for (index, line) in text.lines().enumerate() {
                let trimmed = line.trim_start();
                if trimmed.starts_with("mod tests") || trimmed.starts_with("pub(crate) mod tests") {
                    break;
                }
                length = index + 1;
                if !trimmed.starts_with("//") {
                    code.push((index + 1, line.to_owned()));
                }
            }
            // The `#[cfg(test)]` lines just above the test module are part of it.
            while code
                .last()
                .is_some_and(|(_, line)| line.trim_start().starts_with("#[") || line.is_empty())
            {
                code.pop();
            }
            File {
                path: format!("src/{}", relative.display()),
                module,
                code,
                length,
            }
        })
        .collect()
}

/// The names the crate root re-exports, and the top-level module each comes from.
fn root_names(files: &[File]) -> BTreeMap<String, String> {
    let lib = files.iter().find(|file| file.path == "src/lib.rs").unwrap();
    let text: String = lib
        .code
        .iter()
        .map(|(_, line)| line.as_str())
        .take_while(|line| !line.contains("pub mod internals"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut names = BTreeMap::new();
    for statement in text.split(';') {
        let Some(used) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let module = identifier(used);
        let items = match used.split_once('{') {
            Some((_, items)) => items.trim_end_matches(['}', ' ']).to_owned(),
            None => used.to_owned(),
        };
        for item in items.split(',') {
            let exported = item.rsplit([':', ' ']).next().unwrap().trim();
            if !exported.is_empty() {
                names.insert(exported.to_owned(), module.clone());
            }
        }
    }
    names
}

/// Every use each file makes of another top-level module.
fn uses(files: &[File]) -> Vec<Use> {
    let modules: BTreeSet<&str> = files.iter().map(|file| file.module.as_str()).collect();
    let roots = root_names(files);
    let mut uses = Vec::new();
    for file in files {
        // From a top-level file or a folder's `mod.rs`, `super::` is the crate root.
        let super_is_root = !file.path[4..].contains('/') || file.path.ends_with("/mod.rs");
        let mut in_group = false;
        for (line, text) in &file.code {
            let code = text.trim_start();
            let mut named = crate_paths(code, "crate::");
            if super_is_root {
                named.extend(crate_paths(code, "super::"));
            }
            // `use crate::{a, b::c};` over several lines names a and b.
            if code.starts_with("use crate::{") || code.starts_with("pub use crate::{") {
                in_group = !code.contains("};");
                named.extend(group_heads(code.split_once('{').unwrap().1));
            } else if in_group {
                in_group = !code.contains("};");
                named.extend(group_heads(code));
            }
            for name in named {
                let module = if modules.contains(name.as_str()) {
                    name
                } else if let Some(module) = roots.get(&name) {
                    module.clone()
                } else {
                    continue;
                };
                if module != file.module {
                    uses.push(Use {
                        path: file.path.clone(),
                        line: *line,
                        text: text.trim().to_owned(),
                        module,
                    });
                }
            }
        }
    }
    uses
}

/// The name after each `prefix` (`crate::`) in a line.
fn crate_paths(code: &str, prefix: &str) -> Vec<String> {
    code.match_indices(prefix)
        .filter(|(at, _)| !code[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        .map(|(at, _)| identifier(&code[at + prefix.len()..]))
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
    LAYERS.iter().position(|(name, _)| *name == module)
}

#[test]
fn every_file_is_in_a_layer() {
    for file in files() {
        assert!(
            ROOTS.contains(&file.module.as_str()) || layer_of(&file.module).is_some(),
            "{} is in no layer: put it in one of {:?}, or add a layer to LAYERS in \
             tests/architecture.rs (and docs/ARCHITECTURE.md)",
            file.path,
            LAYERS.iter().map(|(name, _)| name).collect::<Vec<_>>()
        );
    }
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let files = files();
    let own_layer: BTreeMap<&str, usize> = files
        .iter()
        .filter_map(|file| Some((file.path.as_str(), layer_of(&file.module)?)))
        .collect();
    let upward: Vec<String> = uses(&files)
        .into_iter()
        .filter_map(|used| {
            let own = *own_layer.get(used.path.as_str())?;
            let theirs = layer_of(&used.module)?;
            (theirs > own).then(|| {
                format!(
                    "{}:{} ({}) uses {} ({}): `{}`",
                    used.path, used.line, LAYERS[own].0, used.module, LAYERS[theirs].0, used.text
                )
            })
        })
        .collect();
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

#[test]
fn no_import_cycles_between_top_level_modules() {
    let uses = uses(&files());
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for used in &uses {
        let from = used.path[4..].split(['/', '.']).next().unwrap();
        edges.entry(from).or_default().insert(used.module.as_str());
    }
    // Depth-first search; a module met again while still on the path closes a cycle.
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
                    let used = uses
                        .iter()
                        .find(|used| used.path[4..].starts_with(pair[0]) && used.module == pair[1])
                        .unwrap();
                    format!("{}:{}: `{}`", used.path, used.line, used.text)
                })
                .collect();
            panic!("import cycle {}:\n{}", cycle.join(" -> "), lines.join("\n"));
        }
    }
}

#[test]
fn handlers_never_import_the_openapi_module() {
    let files = files();
    let handlers = files
        .iter()
        .find(|file| file.path == "src/http/handlers.rs")
        .expect("the handlers live in src/http/handlers.rs");
    for (line, text) in &handlers.code {
        assert!(
            !text.contains("http::openapi") && !text.contains("super::openapi"),
            "{}:{line}: the handlers import the OpenAPI module: `{}`",
            handlers.path,
            text.trim()
        );
    }
}

#[test]
fn the_crate_root_declares_only_private_modules() {
    let files = files();
    let lib = files.iter().find(|file| file.path == "src/lib.rs").unwrap();
    for (line, text) in &lib.code {
        let code = text.trim_start();
        if code.starts_with("pub mod ") {
            assert_eq!(
                code, "pub mod internals {",
                "src/lib.rs:{line}: a public module; re-export what callers need instead"
            );
        }
    }
}

#[test]
fn no_file_is_longer_than_600_lines_outside_its_tests() {
    let long: Vec<String> = files()
        .into_iter()
        .filter(|file| file.length > MAX_LINES)
        .map(|file| format!("{}: {} lines", file.path, file.length))
        .collect();
    assert!(
        long.is_empty(),
        "split these files (at most {MAX_LINES} lines before the test module):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_reader_sees_grouped_nested_and_re_exported_uses() {
    assert_eq!(
        crate_paths("let x = crate::wire::json::parse_object(b)?;", "crate::"),
        ["wire"]
    );
    assert_eq!(
        crate_paths("use crate::oracle::Error; // crate::http", "crate::"),
        ["oracle", "http"]
    );
    assert!(crate_paths("use gcm_oracle_crate::x;", "crate::").is_empty());
    assert_eq!(
        group_heads("oracle::Error, wire::{Envelope, Field},"),
        ["oracle", "wire", "Field"]
    );
    let files = files();
    let roots = root_names(&files);
    assert_eq!(roots["Envelope"], "wire");
    assert_eq!(roots["seal"], "crypto");
    assert_eq!(roots["Error"], "oracle");
    // The layers that others build on are seen in use: the reader is not blind.
    let used: BTreeSet<String> = uses(&files).into_iter().map(|used| used.module).collect();
    for layer in ["crypto", "wire", "keys", "oracle", "http", "server"] {
        assert!(
            used.contains(layer),
            "nothing uses {layer}: is the reader blind?"
        );
    }
}
