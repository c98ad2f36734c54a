//! `clausewatch history`: the stored versions of a document.

use super::*;

#[derive(Args, Debug)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub db: DbArgs,
    pub document: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

/// `clausewatch history`: the versions of a document, newest first.
pub async fn history(args: HistoryArgs) -> Result<Exit> {
    let store = args.db.open().await?;
    let versions = store.history(&args.document, None).await?;
    if versions.is_empty() {
        return Err(bad(format!(
            "no versions of {:?} in the database",
            args.document
        )));
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            let entries: Vec<json::HistoryEntry> = versions.iter().map(Into::into).collect();
            serde_json::to_writer_pretty(&mut out, &entries)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            for v in &versions {
                let changes = v
                    .changes
                    .map(|c| {
                        format!(
                            "  +{} -{} ~{} renamed {} moved {}",
                            c.added, c.removed, c.modified, c.renamed, c.moved
                        )
                    })
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{:>4}  {}  (last seen {})  {} clauses  {}{}",
                    v.version,
                    v.first_seen.format("%Y-%m-%d %H:%M"),
                    v.last_seen.format("%Y-%m-%d %H:%M"),
                    v.clauses,
                    &v.hash[..12],
                    changes
                )?;
            }
        }
    }
    Ok(Exit::Ok)
}
