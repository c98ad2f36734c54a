//! `clausewatch backup`: a consistent copy of the database.

use super::*;

#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Where to write the copy (must not exist).
    pub path: PathBuf,
}

/// `clausewatch backup`: a consistent copy of the database.
pub async fn backup(args: BackupArgs) -> Result<Exit> {
    if args.path.exists() {
        return Err(bad(format!(
            "{} already exists; choose a new file",
            args.path.display()
        )));
    }
    // A backup is a read: it never upgrades the database it copies, so an
    // old one can be saved before its upgrade.
    let store = args.db.open_any_schema().await?;
    store
        .backup(&args.path)
        .await
        .with_context(|| format!("backup to {}", args.path.display()))?;
    eprintln!("backup written to {}", args.path.display());
    Ok(Exit::Ok)
}
