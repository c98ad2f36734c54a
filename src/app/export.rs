//! `clausewatch export`: a document's versions as Markdown files.

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
        let blocks = clauses
            .iter()
            .map(|c| extract::Block {
                kind: c.kind,
                text: c.text.clone(),
            })
            .collect();
        let text = extract::Extracted { blocks }.to_text();
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
