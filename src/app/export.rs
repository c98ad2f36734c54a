//! `clausewatch export`: a document's versions as Markdown files.
//!
//! The files are Markdown that `import` reads back to the very same
//! clauses: clause text is plain text, so whatever Markdown would take for
//! markup (`1. ` at the start of a paragraph is a list item, `**` is
//! emphasis, `<b>` a tag) is backslash-escaped.

use super::*;

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: DbArgs,
    pub document: String,
    /// Folder to write the versions into (created if missing).
    pub dir: PathBuf,
}

/// `clausewatch export`: every version of a document as a Markdown file
/// named by date, plus an index, so the history can leave the bot.
pub async fn export(args: ExportArgs) -> Result<Exit> {
    let store = args.db.open().await?;
    let versions = store.history(&args.document, None).await?;
    if versions.is_empty() {
        return Err(bad(format!(
            "no versions of {:?} in the database",
            args.document
        )));
    }
    std::fs::create_dir_all(&args.dir).with_context(|| format!("create {}", args.dir.display()))?;
    let mut used = std::collections::HashSet::new();
    let mut index = String::from("version\tfile\tfirst_seen\tlast_seen\thash\tclauses\n");
    for v in versions.iter().rev() {
        let clauses = store.clauses(v.id).await?;
        let text = to_markdown(&clauses);
        // Named by date like the Open Terms Archive data; two versions seen
        // within one second (possible with `check` run by hand) keep apart.
        let stamp = v.first_seen.format("%Y-%m-%dT%H%M%SZ").to_string();
        let file = if used.insert(stamp.clone()) {
            format!("{stamp}.md")
        } else {
            format!("{stamp}-v{}.md", v.version)
        };
        let path = args.dir.join(&file);
        std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
        index.push_str(&format!(
            "{}\t{file}\t{}\t{}\t{}\t{}\n",
            v.version,
            crate::store::ts(v.first_seen),
            crate::store::ts(v.last_seen),
            v.hash,
            v.clauses
        ));
    }
    let index_path = args.dir.join("index.tsv");
    std::fs::write(&index_path, index)
        .with_context(|| format!("write {}", index_path.display()))?;
    eprintln!(
        "{} versions written to {}",
        versions.len(),
        args.dir.display()
    );
    Ok(Exit::Ok)
}

/// A version's clauses as Markdown that reads back to the same clauses.
pub fn to_markdown(clauses: &[Clause]) -> String {
    let mut out = String::new();
    for (i, c) in clauses.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        match c.kind {
            clauses::ClauseKind::Heading { level } => {
                out.push_str(&"#".repeat(usize::from(level.clamp(1, 6))));
                out.push(' ');
                out.push_str(&escape_inline(&c.text));
            }
            clauses::ClauseKind::Paragraph => out.push_str(&escape_line(&c.text)),
            clauses::ClauseKind::ListItem => {
                out.push_str("- ");
                out.push_str(&escape_line(&c.text));
            }
            clauses::ClauseKind::TableRow => {
                // A row alone is no table in Markdown: each row is a
                // one-row table (its header), cells apart as they were
                // joined.
                let cells: Vec<String> = c.text.split(" | ").map(escape_inline).collect();
                out.push_str("| ");
                out.push_str(&cells.join(" | "));
                out.push_str(" |\n|");
                out.push_str(&"---|".repeat(cells.len()));
            }
        }
    }
    out.push('\n');
    out
}

/// Text that starts a block: also escapes what would start another kind of
/// block (`# `, `- `, `1. `, `> `, `---`, a table row).
fn escape_line(text: &str) -> String {
    let escaped = escape_inline(text);
    let first = escaped.chars().next();
    match first {
        Some('#' | '-' | '+' | '=' | '>' | '|') => format!("\\{escaped}"),
        Some(c) if c.is_ascii_digit() => {
            // `1.` or `1)` after up to nine digits is an ordered list item.
            let digits = escaped.chars().take_while(|c| c.is_ascii_digit()).count();
            match escaped[digits..].chars().next() {
                Some(m @ ('.' | ')')) if digits <= 9 => {
                    format!("{}\\{m}{}", &escaped[..digits], &escaped[digits + 1..])
                }
                _ => escaped,
            }
        }
        _ => escaped,
    }
}

/// Escapes the characters Markdown reads as inline markup, and what would
/// end a heading or be a hard break.
fn escape_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        if matches!(
            ch,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '|' | '#' | '~' | '!'
        ) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}
