//! `clausewatch show`: the clauses of a stored version.

use super::*;

#[derive(Args, Debug)]
pub struct ShowArgs {
    #[command(flatten)]
    pub db: DbArgs,
    pub document: String,
    /// Version number (default: the latest).
    pub version: Option<i64>,
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

/// `clausewatch show`: the clauses of a stored version.
pub async fn show(args: ShowArgs) -> Result<Exit> {
    let store = args.db.open().await?;
    let v = match args.version {
        Some(n) => store.version(&args.document, n).await?,
        None => store.latest_version(&args.document).await?,
    }
    .ok_or_else(|| {
        bad(format!(
            "no version {} of {:?} in the database",
            args.version.map_or("at all".to_string(), |n| n.to_string()),
            args.document
        ))
    })?;
    let clauses = store.clauses(v.id).await?;
    print_clauses(&clauses, args.format)?;
    Ok(Exit::Ok)
}
