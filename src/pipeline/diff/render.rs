//! Human-readable rendering of a change set for the terminal.

use std::fmt::Write;

use super::{Change, ChangeKind, ChangeSet, WordOpKind};

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

struct Style {
    color: bool,
}

impl Style {
    /// Deleted text: red with colour, `[-…-]` without (git word-diff style,
    /// so the output stays unambiguous when piped).
    fn del(&self, t: &str) -> String {
        if self.color {
            format!("{RED}{t}{RESET}")
        } else {
            format!("[-{t}-]")
        }
    }

    fn ins(&self, t: &str) -> String {
        if self.color {
            format!("{GREEN}{t}{RESET}")
        } else {
            format!("{{+{t}+}}")
        }
    }

    fn bold(&self, t: &str) -> String {
        if self.color {
            format!("{BOLD}{t}{RESET}")
        } else {
            t.to_string()
        }
    }
}

fn label(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Added => "added",
        ChangeKind::Removed => "removed",
        ChangeKind::Modified => "modified",
        ChangeKind::Moved => "moved",
        ChangeKind::Renamed => "renamed",
    }
}

fn section(path: &str) -> &str {
    if path.is_empty() {
        "(top)"
    } else {
        path
    }
}

fn render_change(out: &mut String, c: &Change, st: &Style) {
    let mut head = format!("{} in {}", label(c.kind), section(&c.path));
    if let (ChangeKind::Moved, Some(from)) = (c.kind, &c.old_path) {
        if from != &c.path {
            head = format!("moved from {} to {}", section(from), section(&c.path));
        }
    }
    let _ = write!(out, "{}", st.bold(&head));
    if !c.flags.is_empty() {
        let fl: Vec<String> = c
            .flags
            .iter()
            .map(|f| {
                let sign = if c.flags_disappeared.contains(f) {
                    '-'
                } else {
                    '+'
                };
                format!("{sign}{f}")
            })
            .collect();
        let _ = write!(out, "  [{}]", fl.join(", "));
    }
    out.push('\n');
    let body = match c.kind {
        ChangeKind::Added => st.ins(c.new.as_deref().unwrap_or_default()),
        ChangeKind::Removed => st.del(c.old.as_deref().unwrap_or_default()),
        ChangeKind::Moved => c.new.clone().unwrap_or_default(),
        ChangeKind::Modified | ChangeKind::Renamed => c
            .words
            .iter()
            .map(|w| match w.op {
                WordOpKind::Equal => w.text.clone(),
                WordOpKind::Delete => st.del(&w.text),
                WordOpKind::Insert => st.ins(&w.text),
            })
            .collect(),
    };
    let _ = writeln!(out, "    {body}\n");
}

/// Summary line, flag list, then each change with its quote.
pub fn render_text(cs: &ChangeSet, color: bool) -> String {
    let st = Style { color };
    let s = &cs.summary;
    let mut out = String::new();
    if cs.changes.is_empty() {
        return "no changes\n".to_string();
    }
    let _ = writeln!(
        out,
        "{} added, {} removed, {} modified, {} renamed, {} moved",
        s.added, s.removed, s.modified, s.renamed, s.moved
    );
    for f in &s.flags {
        let dir = if f.appeared {
            "appeared"
        } else {
            "disappeared"
        };
        let _ = writeln!(out, "flag {}: {} in {} change(s)", f.flag, dir, f.count);
    }
    out.push('\n');
    for c in &cs.changes {
        render_change(&mut out, c, &st);
    }
    out
}
