//! `clausewatch diff`: the clause-level changes between two files or
//! stored versions.

use super::*;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum DiffFormat {
    #[default]
    Text,
    Json,
    /// The thread the bot would post, as a JSON array of post texts.
    Thread,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Old side: a file, or a stored version `DOC_ID@N`, `DOC_ID@latest`, `DOC_ID@YYYY-MM-DD`.
    pub old: String,
    /// New side, same forms as OLD.
    pub new: String,
    /// CSS selector applied to HTML files (repeatable).
    #[arg(long)]
    pub select: Vec<String>,
    /// CSS selector removed from HTML files (repeatable).
    #[arg(long)]
    pub remove: Vec<String>,
    /// Language of the watch terms (default: the document's, or en).
    #[arg(long)]
    pub language: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: DiffFormat,
    /// Character limit of each post for `--format thread` (default: the
    /// instance's, else 500).
    #[arg(long)]
    pub max_chars: Option<usize>,
    /// For `--format thread` on files: the service and document names and
    /// the page URL shown in post 1.
    #[arg(long, default_value = "The service")]
    pub service: String,
    #[arg(long, default_value = "policy")]
    pub name: String,
    #[arg(long)]
    pub url: Option<Url>,
}

/// A side of `clausewatch diff`: a stored version reference or a file.
enum Side<'a> {
    Stored { doc: &'a str, at: VersionRef },
    File(&'a str),
}

enum VersionRef {
    Latest,
    Number(i64),
    Date(DateTime<Utc>),
}

fn parse_side(s: &str) -> Result<Side<'_>> {
    // A path that exists wins, so a file named "a@b" still works.
    if Path::new(s).exists() {
        return Ok(Side::File(s));
    }
    let Some((doc, v)) = s.rsplit_once('@') else {
        return Ok(Side::File(s));
    };
    let at = if v == "latest" {
        VersionRef::Latest
    } else if let Ok(n) = v.parse::<i64>() {
        VersionRef::Number(n)
    } else if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        // "the version current at that date": everything seen by the end of
        // that day.
        let end = d.and_hms_opt(23, 59, 59).expect("valid time").and_utc();
        VersionRef::Date(end)
    } else if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        VersionRef::Date(t.with_timezone(&Utc))
    } else {
        return Err(bad(format!(
            "{s:?}: after '@' write a version number, 'latest' or a date (YYYY-MM-DD)"
        )));
    };
    Ok(Side::Stored { doc, at })
}

async fn load_side(
    side: &Side<'_>,
    store: &mut Option<Store>,
    db: &DbArgs,
    rules: &ObserveRules,
    defaults: &crate::config::Defaults,
) -> Result<Vec<Clause>> {
    match side {
        Side::File(path) => Ok(load_source(path, rules, defaults).await?.clauses),
        Side::Stored { doc, at } => {
            if store.is_none() {
                *store = Some(db.open().await?);
            }
            let st = store.as_ref().expect("opened above");
            let v = match at {
                VersionRef::Latest => st.latest_version(doc).await?,
                VersionRef::Number(n) => st.version(doc, *n).await?,
                VersionRef::Date(t) => st.version_at(doc, *t).await?,
            }
            .ok_or_else(|| bad(format!("no such stored version: {doc}@…")))?;
            Ok(st.clauses(v.id).await?)
        }
    }
}

/// `clausewatch diff`: the clause-level changes between two versions.
pub async fn diff_cmd(args: DiffArgs) -> Result<Exit> {
    let (rules, defaults) = ad_hoc_rules(&args.db.config, None, &args.select, &args.remove)?;
    let old_side = parse_side(&args.old)?;
    let new_side = parse_side(&args.new)?;
    let mut store = None;
    let old = load_side(&old_side, &mut store, &args.db, &rules, &defaults).await?;
    let new = load_side(&new_side, &mut store, &args.db, &rules, &defaults).await?;
    let config = args.db.config.load_if_present()?;
    let options = check::diff_options(config.as_ref().unwrap_or(&Config::empty()));
    let language = args
        .language
        .clone()
        .or_else(|| {
            let doc = match (&new_side, &old_side) {
                (Side::Stored { doc, .. }, _) | (_, Side::Stored { doc, .. }) => Some(*doc),
                _ => None,
            }?;
            config.as_ref()?.document(doc).map(|d| d.language.clone())
        })
        .unwrap_or_else(|| "en".to_string());
    let cs = diff::diff(&old, &new, &options, &language);
    let mut out = std::io::stdout().lock();
    match args.format {
        DiffFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &cs)?;
            writeln!(out)?;
        }
        DiffFormat::Text => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            write!(out, "{}", diff::render_text(&cs, color))?;
        }
        DiffFormat::Thread => {
            let mut announce = Announce::from_config(config.as_ref().unwrap_or(&Config::empty()));
            if let Some(m) = args.max_chars {
                announce.compose.max_chars = m;
            }
            let doc_id = match (&new_side, &old_side) {
                (Side::Stored { doc, .. }, _) | (_, Side::Stored { doc, .. }) => {
                    Some(doc.to_string())
                }
                _ => None,
            };
            let doc = doc_id
                .as_deref()
                .and_then(|id| config.as_ref()?.document(id).cloned());
            let doc = doc.unwrap_or_else(|| Document {
                id: doc_id.clone().unwrap_or_else(|| "document".into()),
                name: args.name.clone(),
                service: args.service.clone(),
                url: args
                    .url
                    .clone()
                    .unwrap_or_else(|| Url::parse("https://example.invalid/").expect("valid")),
                select: Vec::new(),
                remove: Vec::new(),
                schedule: crate::config::Schedule::parse(crate::config::DEFAULT_SCHEDULE)
                    .expect("valid"),
                language: language.clone(),
                language_configured: true,
                tags: Vec::new(),
                json_field: None,
                ignore: Vec::new(),
                reach: crate::config::Reach::default(),
            });
            let posts = announce.change_posts(&doc, &cs, 2, Some(1), Utc::now());
            let texts: Vec<&str> = posts.iter().map(|p| p.text.as_str()).collect();
            serde_json::to_writer_pretty(&mut out, &texts)?;
            writeln!(out)?;
        }
    }
    Ok(Exit::Ok)
}
