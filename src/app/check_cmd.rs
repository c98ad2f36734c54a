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
    let store = open_store(&config).await?;
    let checker = Checker::new(&config, store.clone(), Announce::from_config(&config))?;
    // Documents are checked concurrently; the fetcher's limits keep this
    // polite (one request at a time per host).
    let mut set = tokio::task::JoinSet::new();
    // As in the scheduler: bound the checks in flight, not only the fetches,
    // so a large config does not starve the database pool.
    let permits = Arc::new(tokio::sync::Semaphore::new(
        config.defaults.max_concurrent * 2,
    ));
    for (i, doc) in docs.iter().enumerate() {
        let checker = checker.clone();
        let doc = (*doc).clone();
        let permits = permits.clone();
        set.spawn(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .expect("semaphore never closed");
            (i, checker.check(&doc).await)
        });
    }
    let mut results = Vec::new();
    while let Some(r) = set.join_next().await {
        results.push(r.context("check task")?);
    }
    results.sort_by_key(|(i, _)| *i);
    let mut failed = 0;
    let mut out = std::io::stdout().lock();
    for (i, r) in results {
        let outcome = r?;
        failed += outcome.is_failure() as usize;
        writeln!(out, "{}: {}", docs[i].id, outcome)?;
    }
    store.close().await;
    Ok(if failed > 0 {
        Exit::CheckFailed
    } else {
        Exit::Ok
    })
}
