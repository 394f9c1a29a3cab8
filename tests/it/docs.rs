//! The project's docs say true things about its tests: every test that
//! docs/GUARANTEES.md cites as proof exists.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `code` spans of the table's "proved by" column, row by row.
fn cited(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| ---") && !l.starts_with("| promise"))
        .filter_map(|l| l.trim_end_matches('|').rsplit(" | ").next())
        .map(|proof| {
            proof
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// The source file of a module path (`store::ingest`), if there is one:
/// its own file, or its parent's when it is a `mod x { … }` inside it.
fn module_file(path: &str) -> Option<PathBuf> {
    let rel = path.replace("::", "/");
    let own = [format!("src/{rel}.rs"), format!("src/{rel}/mod.rs")]
        .into_iter()
        .map(|p| root().join(p))
        .find(|p| p.is_file());
    own.or_else(|| {
        let (parent, name) = path.rsplit_once("::")?;
        let file = module_file(parent)?;
        let text = std::fs::read_to_string(&file).ok()?;
        text.contains(&format!("mod {name} {{")).then_some(file)
    })
}

fn defines_fn(file: &Path, name: &str) -> bool {
    std::fs::read_to_string(file).is_ok_and(|text| text.contains(&format!("fn {name}(")))
}

/// Whether a citation names something that exists: `tests/it/x.rs`,
/// `tests/it/x.rs::test_name`, `::test_name` (in the file cited before it
/// in the row), `module::tests` or `module::tests::test_name`.
fn exists(citation: &str, last_file: &mut Option<PathBuf>) -> Result<(), String> {
    let citation = citation.trim();
    if let Some(name) = citation.strip_prefix("::") {
        let file = last_file.clone().ok_or("`::name` with no file before it")?;
        return defines_fn(&file, name)
            .then_some(())
            .ok_or_else(|| format!("no test `{name}` in {}", file.display()));
    }
    if citation.starts_with("tests/") {
        let (file, name) = match citation.split_once(".rs::") {
            Some((file, name)) => (format!("{file}.rs"), Some(name)),
            None => (citation.to_string(), None),
        };
        let path = root().join(&file);
        if !path.is_file() {
            return Err(format!("no file {file}"));
        }
        *last_file = Some(path.clone());
        return match name {
            Some(name) if !defines_fn(&path, name) => Err(format!("no test `{name}` in {file}")),
            _ => Ok(()),
        };
    }
    let (module, name) = match citation.split_once("::tests") {
        Some((module, rest)) => (module, rest.strip_prefix("::")),
        None => return Err(format!("`{citation}` names no test")),
    };
    let file = module_file(module).ok_or_else(|| format!("no module {module}"))?;
    let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
    if !text.contains("mod tests") {
        return Err(format!("{} has no tests", file.display()));
    }
    *last_file = Some(file.clone());
    match name {
        Some(name) if !defines_fn(&file, name) => {
            Err(format!("no test `{name}` in {}", file.display()))
        }
        _ => Ok(()),
    }
}

#[test]
fn every_test_the_guarantees_cite_exists() {
    let text =
        std::fs::read_to_string(root().join("docs/GUARANTEES.md")).expect("docs/GUARANTEES.md");
    let rows = cited(&text);
    assert!(
        rows.len() >= 20,
        "the table was not found: {} rows",
        rows.len()
    );
    let mut missing = Vec::new();
    for row in &rows {
        assert!(!row.is_empty(), "a promise with no test: {row:?}");
        let mut last_file = None;
        for citation in row {
            if let Err(why) = exists(citation, &mut last_file) {
                missing.push(why);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "cited but missing:\n{}",
        missing.join("\n")
    );
}
