//! `clausewatch check`: one check of the given (or all) documents now,
//! through the same checker as the daemon.

use super::*;

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Documents to check (default: all).
    pub documents: Vec<String>,
}

/// `clausewatch check`: one check of the given (or all) documents now.
pub async fn check(args: CheckArgs) -> Result<Exit> {
    let config = args.config.load()?;
    let docs: Vec<&Document> = if args.documents.is_empty() {
        config.documents.iter().collect()
    } else {
        args.documents
            .iter()
            .map(|id| {
                config
                    .document(id)
                    .ok_or_else(|| unknown_document(&config, id))
            })
            .collect::<Result<_>>()?
    };
    if let Some(note) = config.filters_note() {
        eprintln!("clausewatch: note: {note}");
    }
    let store = open_store(&config).await?;
    let checker = Checker::new(&config, store.clone(), Announce::from_config(&config))?;
    let results = checker.check_many(&docs).await;
    let mut failed = 0;
    let mut out = std::io::stdout().lock();
    for (doc, r) in docs.iter().zip(results) {
        let outcome = r?;
        failed += outcome.is_failure() as usize;
        writeln!(out, "{}: {}", doc.id, outcome)?;
    }
    store.close().await;
    Ok(if failed > 0 {
        Exit::CheckFailed
    } else {
        Exit::Ok
    })
}
