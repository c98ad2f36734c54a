//! Loads the shared version corpus: every document directory that has an
//! `index.tsv` listing Markdown versions, versions in index order, each
//! extracted and split into clauses. Shared by the corpus test and the
//! diff benchmark.

use std::path::{Path, PathBuf};

use clausewatch::pipeline::clauses::{self, Clause};
use clausewatch::pipeline::extract::extract_markdown;

pub struct Version {
    pub file: String,
    /// Size of the Markdown file; the bench picks its largest pair by it.
    #[allow(dead_code)]
    pub bytes: usize,
    pub clauses: Vec<Clause>,
}

pub struct Document {
    /// Path relative to the corpus root, e.g. `twitter/privacy-policy`.
    pub name: String,
    pub versions: Vec<Version>,
}

pub fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn find_indexes(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            find_indexes(&p, out);
        } else if p.file_name().is_some_and(|n| n == "index.tsv") {
            out.push(p);
        }
    }
}

pub fn load_version(dir: &Path, file: &str) -> Version {
    let md = read(&dir.join(file));
    Version {
        file: file.to_string(),
        bytes: md.len(),
        clauses: clauses::split(&extract_markdown(&md)),
    }
}

/// All documents; the HTML snapshot index (whose files are not Markdown
/// versions) is skipped.
pub fn documents() -> Vec<Document> {
    let root = corpus_dir();
    let mut indexes = Vec::new();
    find_indexes(&root, &mut indexes);
    let mut docs = Vec::new();
    for idx in indexes {
        let dir = idx.parent().expect("index.tsv has a parent");
        let files: Vec<String> = read(&idx)
            .lines()
            .skip(1)
            .filter_map(|l| l.split('\t').next())
            .filter(|f| f.ends_with(".md"))
            .map(str::to_string)
            .collect();
        if files.is_empty() {
            continue;
        }
        let name = dir.strip_prefix(&root).unwrap_or(dir).display().to_string();
        let versions = files.iter().map(|f| load_version(dir, f)).collect();
        docs.push(Document { name, versions });
    }
    assert!(!docs.is_empty(), "no documents under {}", root.display());
    docs
}
