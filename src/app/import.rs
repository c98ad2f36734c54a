//! `clausewatch import`: a version history recorded elsewhere, through
//! the one observation path.

use super::*;

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The document (as configured) the history belongs to.
    pub document: String,
    /// A folder of versions: Markdown, HTML or text files named by date
    /// (`2023-09-29T231259Z.md`), with an optional `index.tsv` (file, date)
    /// as in Open Terms Archive data and `clausewatch export`.
    pub dir: PathBuf,
}

/// Parses the date in a version file name or index: `2023-09-29T231259Z`
/// or RFC 3339.
fn parse_version_date(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%dT%H%M%S")
        .ok()
        .map(|t| t.and_utc())
}

/// `clausewatch import`: loads a version history recorded elsewhere (Open
/// Terms Archive data, or an export of another clausewatch) with its dates.
/// Imported versions are never announced.
pub async fn import(args: ImportArgs) -> Result<Exit> {
    let config = args.config.load()?;
    let doc = config
        .document(&args.document)
        .ok_or_else(|| unknown_document(&config, &args.document))?;
    let index = args.dir.join("index.tsv");
    let mut entries: Vec<(DateTime<Utc>, PathBuf)> = Vec::new();
    if index.exists() {
        let text =
            std::fs::read_to_string(&index).with_context(|| format!("read {}", index.display()))?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let (file_col, date_col) = match (col("file"), col("date").or_else(|| col("first_seen"))) {
            (Some(f), Some(d)) => (f, d),
            _ => {
                return Err(bad(format!(
                    "{}: needs 'file' and 'date' (or 'first_seen') columns",
                    index.display()
                )))
            }
        };
        for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            let (Some(file), Some(date)) = (cols.get(file_col), cols.get(date_col)) else {
                return Err(bad(format!(
                    "{}:{}: missing columns",
                    index.display(),
                    n + 2
                )));
            };
            let date = parse_version_date(date)
                .ok_or_else(|| bad(format!("{}:{}: bad date {date:?}", index.display(), n + 2)))?;
            entries.push((date, args.dir.join(file)));
        }
    } else {
        for entry in
            std::fs::read_dir(&args.dir).with_context(|| format!("read {}", args.dir.display()))?
        {
            let path = entry?.path();
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            if let Some(date) = parse_version_date(&stem) {
                entries.push((date, path));
            }
        }
    }
    entries.sort();
    if entries.is_empty() {
        return Err(bad(format!("no versions found in {}", args.dir.display())));
    }
    let store = open_store(&config).await?;
    if let Some(latest) = store.latest_version(&doc.id).await? {
        if latest.first_seen >= entries[0].0 {
            return Err(bad(format!(
                "{} already has versions up to {}; import only into an empty history or with later dates",
                doc.id, latest.first_seen
            )));
        }
    }
    let options = check::diff_options(&config);
    // The same rules as a live check of this document (noise filter,
    // `ignore`, `min_chars`), so that a live check right after the import
    // compares like with like. Files of extracted text (Markdown, as Open
    // Terms Archive and `export` write) are not JSON responses.
    let page_rules = ObserveRules::for_document(doc, &config.defaults);
    let text_rules = ObserveRules {
        json_field: None,
        ..page_rules.clone()
    };
    let mut previous: Option<Vec<Clause>> = match store.latest_version(&doc.id).await? {
        Some(v) => Some(store.clauses(v.id).await?),
        None => None,
    };
    let (mut imported, mut same) = (0, 0);
    for (date, path) in &entries {
        let source = path.to_string_lossy().to_string();
        let extracted_text = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("md" | "markdown" | "txt")
        );
        // A page recorded before the declaration changed is read with the
        // rules of its time (`validUntil` in the history file).
        let dated;
        let rules = if extracted_text {
            &text_rules
        } else if doc.reach.history.is_empty() {
            &page_rules
        } else {
            dated = ObserveRules::for_document(&doc.as_of(*date), &config.defaults);
            &dated
        };
        let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read {source}: {e}")))?;
        let observation = observe::observe_bytes(&bytes, &source, None, rules, None)?;
        let (clauses, hash) = (observation.clauses, observation.hash);
        let changeset = previous
            .as_ref()
            .map(|old| check::changeset_in(&diff::diff(old, &clauses, &options, &doc.language)));
        match store
            .import_version(doc, *date, &clauses, &hash, changeset)
            .await?
        {
            Some(_) => imported += 1,
            None => same += 1,
        }
        previous = Some(clauses);
    }
    store.close().await;
    println!(
        "{}: {imported} versions imported, {same} identical to the previous one",
        doc.id
    );
    Ok(Exit::Ok)
}
