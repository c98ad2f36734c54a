//! Whole-corpus properties: every stored Open Terms Archive version
//! extracts to clauses, deterministically, and presentation-only rewrites of
//! a version (line wrapping, bullet style, apostrophes, the same text served
//! as HTML) keep its version hash.

use std::path::PathBuf;

use super::{extract_html, extract_markdown, Block, ClauseKind, Extracted, Rules};
use crate::pipeline::clauses::{split, version_hash};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

fn corpus_versions() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::from(CORPUS)];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("readable directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md")
                && path.file_name().is_some_and(|n| n != "README.md")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, text)
        })
        .collect()
}

/// Could `word` at the start of a line be read as block markup?
fn starts_block(word: &str) -> bool {
    let digits = word.chars().take_while(|c| c.is_ascii_digit()).count();
    // A lone bullet, underline or rule; "**bold" or "-5" are fine.
    let bare_marker = word
        .chars()
        .all(|c| matches!(c, '-' | '*' | '+' | '=' | '_'));
    bare_marker
        || word.starts_with(['#', '>', '|', '`', '~', '<'])
        || (digits > 0 && word[digits..].starts_with(['.', ')']))
}

/// Wraps words at `width` columns, never starting a line with something
/// that would read as block markup and never ending one with a backslash
/// (a hard break marker).
fn wrap(words: &[&str], width: usize, indent: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for &word in words {
        let fits = line.chars().count() + 1 + word.chars().count() <= width;
        if !line.is_empty() && !fits && !starts_block(word) && !line.ends_with('\\') {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { l } else { format!("{indent}{l}") })
        .collect()
}

fn list_marker(line: &str) -> Option<(usize, &str, &str)> {
    let indent = line.len() - line.trim_start().len();
    let t = line.trim_start();
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    let marker_len = if t.starts_with(['-', '*', '+']) {
        1
    } else if digits > 0 && t[digits..].starts_with(['.', ')']) {
        digits + 1
    } else {
        return None;
    };
    let rest = &t[marker_len..];
    let content = rest.trim_start();
    let is_break = t
        .chars()
        .filter(|c| !c.is_whitespace())
        .all(|c| c == '-' || c == '*');
    (rest.starts_with(' ') && !content.is_empty() && !is_break)
        .then(|| (indent, &t[..marker_len], content))
}

/// A presentation-only rewrite of a Markdown version: prose and list items
/// re-wrapped at `width`, `*` and `-` bullets swapped, `'` typeset as `’`.
fn perturb(md: &str, width: usize) -> String {
    let lines: Vec<&str> = md.lines().collect();
    let mut out: Vec<String> = Vec::new();
    let mut in_fence = false;
    let mut prose: Vec<&str> = Vec::new();
    let flush = |prose: &mut Vec<&str>, out: &mut Vec<String>| {
        if !prose.is_empty() {
            let words: Vec<&str> = prose
                .iter()
                .flat_map(|l| l.split(' '))
                .filter(|w| !w.is_empty())
                .collect();
            out.extend(wrap(&words, width, ""));
            prose.clear();
        }
    };
    for (i, &line) in lines.iter().enumerate() {
        let t = line.trim();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
        }
        let next_is_underline = lines.get(i + 1).is_some_and(|n| {
            let n = n.trim();
            !n.is_empty() && (n.chars().all(|c| c == '=') || n.chars().all(|c| c == '-'))
        });
        let plain = !in_fence
            && !t.is_empty()
            && line.len() == line.trim_start().len()
            && !t.split(' ').next().is_some_and(starts_block)
            && !next_is_underline;
        if plain {
            prose.push(t);
            continue;
        }
        flush(&mut prose, &mut out);
        match list_marker(line).filter(|_| !in_fence) {
            Some((indent, marker, content)) => {
                let marker = match marker {
                    "*" => "-",
                    "-" => "*",
                    other => other,
                };
                let pad = " ".repeat(indent);
                let words: Vec<&str> = content.split(' ').filter(|w| !w.is_empty()).collect();
                let cont = " ".repeat(indent + marker.len() + 3);
                let wrapped = wrap(&words, width, &cont);
                if let Some((first, rest)) = wrapped.split_first() {
                    out.push(format!("{pad}{marker}   {first}"));
                    out.extend(rest.iter().cloned());
                }
            }
            None => out.push(line.to_string()),
        }
    }
    flush(&mut prose, &mut out);
    out.join("\n").replace('\'', "\u{2019}")
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders blocks as HTML the way a site might serve them: one element per
/// block, lines wrapped, a no-break space entity and some inline markup.
fn render_html(ex: &Extracted) -> String {
    let mut html =
        String::from("<!DOCTYPE html>\n<html><head><title>t</title></head><body><main>\n");
    for Block { kind, text } in &ex.blocks {
        let words: Vec<String> = text
            .split(' ')
            .enumerate()
            .map(|(i, w)| {
                if i % 7 == 3 {
                    format!("<b>{}</b>", escape_html(w))
                } else {
                    escape_html(w)
                }
            })
            .collect();
        let body = words
            .chunks(5)
            .map(|c| c.join(" "))
            .collect::<Vec<_>>()
            .join("\n    ")
            .replacen(' ', "&nbsp;", 1);
        match kind {
            ClauseKind::Heading { level } => {
                html.push_str(&format!("<h{level}>\n  {body}\n</h{level}>\n"))
            }
            ClauseKind::Paragraph => html.push_str(&format!("<div><p>{body}</p></div>\n")),
            ClauseKind::ListItem => {
                html.push_str(&format!("<ul>\n  <li><p>{body}</p></li>\n</ul>\n"))
            }
            ClauseKind::TableRow => {
                let cells: Vec<String> = text
                    .split(" | ")
                    .map(|c| format!("<td>{}</td>", escape_html(c)))
                    .collect();
                html.push_str(&format!(
                    "<table><tbody><tr>{}</tr></tbody></table>\n",
                    cells.join("\n")
                ));
            }
        }
    }
    html.push_str("</main><script>var x = 1;</script></body></html>\n");
    html
}

#[test]
fn every_corpus_version_extracts_deterministically() {
    let versions = corpus_versions();
    assert!(
        versions.len() >= 100,
        "only {} corpus versions found under {CORPUS}",
        versions.len()
    );
    for (path, md) in &versions {
        let first = split(&extract_markdown(md));
        assert!(!first.is_empty(), "{}: no clauses", path.display());
        assert!(
            first.iter().all(|c| !c.norm().is_empty()),
            "{}: empty clause",
            path.display()
        );
        assert_eq!(
            first,
            split(&extract_markdown(md)),
            "{}: not deterministic",
            path.display()
        );
    }
}

#[test]
fn presentation_rewrites_keep_the_version_hash() {
    for (path, md) in corpus_versions() {
        let ex = extract_markdown(&md);
        let clauses = split(&ex);
        let hash = version_hash(&clauses);
        for width in [38, 100] {
            let rewritten = perturb(&md, width);
            assert_ne!(
                rewritten,
                md,
                "{}: perturbation changed nothing",
                path.display()
            );
            let again = split(&extract_markdown(&rewritten));
            if version_hash(&again) != hash {
                let first = clauses
                    .iter()
                    .zip(&again)
                    .find(|(a, b)| a.norm() != b.norm());
                panic!(
                    "{} re-wrapped at {width}: {} vs {} clauses, first difference {first:#?}",
                    path.display(),
                    clauses.len(),
                    again.len()
                );
            }
        }
        let html = render_html(&ex);
        let from_html = split(
            &extract_html(
                &html,
                &Rules {
                    select: vec!["main".into()],
                    ..Rules::default()
                },
            )
            .expect("rendered HTML extracts"),
        );
        if version_hash(&from_html) != hash {
            let first = clauses
                .iter()
                .zip(&from_html)
                .find(|(a, b)| a.norm() != b.norm());
            panic!("{} as HTML: first difference {first:#?}", path.display());
        }
    }
}
