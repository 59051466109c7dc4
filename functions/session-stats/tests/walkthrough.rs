//! `docs/add-a-route.md` walks through adding this route: every excerpt it quotes must still be
//! in the file it names, word for word, and every repository path it names must exist, so the
//! walk-through cannot drift from the code.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// `(path, text)` of each `<!-- excerpt: path -->` and the fenced block after it.
fn excerpts(doc: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(path) = line
            .strip_prefix("<!-- excerpt: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "a fenced block follows the excerpt of {path}"
        );
        let body: Vec<&str> = lines.by_ref().take_while(|line| *line != "```").collect();
        found.push((path.to_owned(), body.join("\n")));
    }
    found
}

/// The repository paths the text names (`shared/...`, `events/...`, ...), up to any
/// placeholder such as `<name>`.
fn named_paths(doc: &str) -> Vec<String> {
    const ROOTS: [&str; 6] = [
        "shared/",
        "functions/",
        "events/",
        "tests/",
        "docs/",
        "tools/",
    ];
    let mut paths = Vec::new();
    for (start, _) in doc.match_indices('/') {
        let head = &doc[..start + 1];
        let Some(root) = ROOTS.iter().find(|root| head.ends_with(*root)) else {
            continue;
        };
        let begin = start + 1 - root.len();
        if doc[..begin]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '.')
        {
            continue;
        }
        let path: String = doc[begin..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'))
            .collect();
        paths.push(path.trim_end_matches('.').to_owned());
    }
    paths
}

#[test]
fn every_excerpt_is_in_the_file_it_names() {
    let doc = read("docs/add-a-route.md");
    let excerpts = excerpts(&doc);
    assert!(
        excerpts.len() >= 10,
        "the walk-through quotes the files it speaks of"
    );
    for (path, text) in excerpts {
        assert!(
            read(&path).contains(&text),
            "docs/add-a-route.md quotes {path}, which no longer reads:\n{text}"
        );
    }
}

#[test]
fn every_path_it_names_exists() {
    let doc = read("docs/add-a-route.md");
    let paths = named_paths(&doc);
    assert!(paths.iter().any(|path| path == "events/session-stats.json"));
    for path in paths {
        assert!(
            repo_root().join(&path).exists(),
            "docs/add-a-route.md names {path}, which does not exist"
        );
    }
}
