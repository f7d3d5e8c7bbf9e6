//! The layering rules of docs/ARCHITECTURE.md, checked on the source text: which module may
//! import which. It reads every `crate::…` path in `src/` (outside comments and `#[cfg(test)]`
//! modules), so an import cannot slip in unnoticed, whether in a `use` line or inline.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The areas of the HTML site: each may use `web` itself, `web::session` and `web::shared`,
/// never another area.
const WEB_AREAS: &[&str] = &["account", "admin", "developer", "org", "public"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without comments and without the unit tests at the end of a file.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b` in the code, as ["a", "b"] (the first two segments; fewer if the path
/// is shorter). Paths inside `use crate::a::{b, c}` give ["a", "b"] and ["a", "c"].
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `concat_portal_crate::`
        }
        let ident = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        let first = ident(rest);
        if first.is_empty() {
            continue;
        }
        let after = &rest[first.len()..];
        if let Some(group) = after.strip_prefix("::{") {
            let end = group.find('}').unwrap_or(group.len());
            for name in group[..end].split(',') {
                let second = ident(name.trim());
                out.push(vec![first.clone(), second]);
            }
        } else if let Some(next) = after.strip_prefix("::") {
            out.push(vec![first.clone(), ident(next)]);
        } else {
            out.push(vec![first.clone()]);
        }
    }
    out
}

/// The module a file belongs to for these rules: its top-level module, and for `web` the area
/// (`web/developer`), `web/session`, `web/shared`, or `web` itself.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    match parts.as_slice() {
        [top] => top.clone(),
        [web, sub, ..] if web == "web" && sub != "mod" => format!("web/{sub}"),
        [top, ..] => top.clone(),
        [] => unreachable!(),
    }
}

/// `super::…` paths made absolute: each `super` leaves one module of `module_path` (the file's
/// own path, e.g. ["web", "developer", "lifecycle"]).
fn super_paths(code: &str, module_path: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("super::") {
        let before = rest[..i].chars().last();
        let mut tail = &rest[i..];
        let mut up = 0;
        while let Some(t) = tail.strip_prefix("super::") {
            up += 1;
            tail = t;
        }
        // Go on after the whole `super::super::…` chain.
        rest = tail;
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let Some(base) = module_path.len().checked_sub(up) else {
            continue;
        };
        let mut path: Vec<String> = module_path[..base].to_vec();
        for segment in tail.split("::").take(2) {
            let name: String = segment
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() || name == "self" {
                break;
            }
            path.push(name);
        }
        if !path.is_empty() {
            out.push(path);
        }
    }
    out
}

fn target_of(path: &[String]) -> String {
    match path {
        [web, sub, ..] if web == "web" && !sub.is_empty() => {
            let known = WEB_AREAS.contains(&sub.as_str()) || sub == "session" || sub == "shared";
            if known {
                format!("web/{sub}")
            } else {
                "web".into()
            }
        }
        [top, ..] => top.clone(),
        [] => unreachable!(),
    }
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let from = module_of(&src, &file);
        if from == "main" || from == "lib" {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        let rel = file.strip_prefix(&src).unwrap().with_extension("");
        let mut module_path: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if module_path.last().is_some_and(|l| l == "mod") {
            module_path.pop();
        }
        let targets = edges.entry(from.clone()).or_default();
        let paths = crate_paths(&code)
            .into_iter()
            .chain(super_paths(&code, &module_path));
        for path in paths {
            let to = target_of(&path);
            if to != from {
                targets.insert(to);
            }
        }
    }
    // Macros exported at the crate root (`crate::upsert!`) are not modules.
    let modules: BTreeSet<String> = edges.keys().cloned().collect();
    for targets in edges.values_mut() {
        targets.retain(|t| modules.contains(t) || t == "web");
    }
    edges
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, v: &'a str) {
        let i = w.index.len();
        w.index.insert(v, i);
        w.low.insert(v, i);
        w.stack.push(v);
        w.on_stack.insert(v);
        let edges = w.edges;
        for t in edges.get(v).into_iter().flatten() {
            let t = t.as_str();
            if !w.index.contains_key(t) {
                visit(w, t);
                let l = w.low[t].min(w.low[v]);
                w.low.insert(v, l);
            } else if w.on_stack.contains(t) {
                let l = w.index[t].min(w.low[v]);
                w.low.insert(v, l);
            }
        }
        if w.low[v] == w.index[v] {
            let mut component = Vec::new();
            while let Some(t) = w.stack.pop() {
                w.on_stack.remove(t);
                component.push(t.to_string());
                if t == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                w.found.push(component);
            }
        }
    }
    let mut w = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !w.index.contains_key(v.as_str()) {
            visit(&mut w, v);
        }
    }
    w.found
}

#[test]
fn no_module_imports_in_a_circle() {
    let edges = graph();
    assert!(edges.len() > 10, "read too few modules: {edges:?}");
    let found = cycles(&edges);
    assert!(
        found.is_empty(),
        "modules that import each other (directly or around a circle): {found:?}\nall imports: {edges:#?}"
    );
}

#[test]
fn only_web_and_startup_import_web() {
    let edges = graph();
    let offenders: Vec<_> = edges
        .iter()
        .filter(|(from, _)| !from.starts_with("web") && *from != "startup")
        .filter(|(_, to)| to.iter().any(|t| t.starts_with("web")))
        .map(|(from, to)| (from.clone(), to.clone()))
        .collect();
    assert!(
        offenders.is_empty(),
        "outside web/ and startup: {offenders:?}"
    );
}

#[test]
fn no_web_area_imports_another() {
    let edges = graph();
    let mut offenders = Vec::new();
    for area in WEB_AREAS {
        let from = format!("web/{area}");
        for to in edges.get(&from).into_iter().flatten() {
            let other_area = WEB_AREAS.iter().any(|a| *to == format!("web/{a}"));
            if other_area {
                offenders.push((from.clone(), to.clone()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "web areas importing each other: {offenders:?}"
    );
}

#[test]
fn the_reader_sees_imports() {
    // The checks above are only as good as this reader: it must see grouped, nested and inline
    // paths, and skip comments and unit tests.
    let code = code_of(
        "use crate::a::{b, c};\n// use crate::hidden::x;\nfn f() { crate::d::e(); }\n\
         #[cfg(test)]\nmod tests { use crate::t::u; }",
    );
    let paths = crate_paths(&code);
    assert_eq!(
        paths,
        vec![
            vec!["a".to_string(), "b".to_string()],
            vec!["a".to_string(), "c".to_string()],
            vec!["d".to_string(), "e".to_string()],
        ]
    );
    let up = super_paths(
        "use super::super::developer::x;\nuse super::Thing;",
        &["web".to_string(), "admin".to_string(), "users".to_string()],
    );
    assert_eq!(
        up,
        vec![
            vec!["web".to_string(), "developer".to_string(), "x".to_string()],
            vec!["web".to_string(), "admin".to_string(), "Thing".to_string()],
        ]
    );
    let mut edges = BTreeMap::new();
    edges.insert("x".to_string(), BTreeSet::from(["y".to_string()]));
    edges.insert("y".to_string(), BTreeSet::from(["x".to_string()]));
    assert_eq!(cycles(&edges), vec![vec!["x".to_string(), "y".to_string()]]);
}
