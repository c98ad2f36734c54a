//! `clausewatch extract`: the clauses of a URL or file, through the one
//! observation path, to write selectors.

use super::*;

#[derive(Args, Debug)]
pub struct ExtractArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Use this configured document's rules (select, remove, ignore,
    /// json_field, min_chars) instead of `--select`/`--remove`.
    #[arg(long)]
    pub document: Option<String>,
    /// A URL (fetched) or a file (HTML, Markdown or text).
    pub source: String,
    /// Keep only elements matching this CSS selector (repeatable).
    #[arg(long)]
    pub select: Vec<String>,
    /// Drop elements matching this CSS selector (repeatable).
    #[arg(long)]
    pub remove: Vec<String>,
    /// Input format (default: guessed from the name, the Content-Type and the content).
    #[arg(long = "input", value_enum)]
    pub input_format: Option<InputFormat>,
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    Html,
    Markdown,
    Text,
}

impl From<InputFormat> for Format {
    fn from(f: InputFormat) -> Format {
        match f {
            InputFormat::Html => Format::Html,
            InputFormat::Markdown => Format::Markdown,
            InputFormat::Text => Format::Text,
        }
    }
}

/// Reads a local file or fetches a URL (with the fetcher settings of
/// `[defaults]`), and observes it through the one observation path. A page
/// that does not observe is an [`observe::Failure`] (exit 1).
pub(super) async fn load_source(
    source: &str,
    rules: &ObserveRules,
    defaults: &crate::config::Defaults,
) -> Result<observe::Observation> {
    if source.starts_with("http://") || source.starts_with("https://") {
        let url = Url::parse(source).map_err(|e| bad(format!("invalid URL {source:?}: {e}")))?;
        let fetcher = Fetcher::new(crate::pipeline::fetch::FetchSettings::from_defaults(
            defaults,
        ))?;
        let report = fetcher.fetch(&url, &Conditional::default()).await;
        match observe::observe_fetch(report, rules, None) {
            Seen::Page { observation, .. } => Ok(observation),
            Seen::NotModified => Err(anyhow!("{url}: unexpected 304 Not Modified")),
            Seen::Failed(f) => Err(f.into()),
        }
    } else {
        let bytes = std::fs::read(source).map_err(|e| bad(format!("cannot read {source}: {e}")))?;
        Ok(observe::observe_bytes(&bytes, source, None, rules, None)?)
    }
}

/// The rules and `[defaults]` for `extract` and `diff` on files: a
/// configured document's when `--document` names one, else the selectors
/// given on the command line.
pub(super) fn ad_hoc_rules(
    config: &ConfigArgs,
    document: Option<&str>,
    select: &[String],
    remove: &[String],
) -> Result<(ObserveRules, crate::config::Defaults)> {
    for s in select.iter().chain(remove) {
        extract::validate_selector(s)
            .map_err(|m| bad(format!("invalid CSS selector {s:?}: {m}")))?;
    }
    let loaded = config.load_if_present()?;
    let defaults = loaded
        .as_ref()
        .map(|c| c.defaults.clone())
        .unwrap_or_else(|| Config::empty().defaults);
    let rules = match document {
        Some(id) => {
            let config = loaded.as_ref().ok_or_else(|| {
                bad(format!(
                    "--document {id} needs a config file; {} does not exist",
                    config.config.display()
                ))
            })?;
            let doc = config
                .document(id)
                .ok_or_else(|| unknown_document(config, id))?;
            ObserveRules::for_document(doc, &config.defaults)
        }
        None => ObserveRules::ad_hoc(select.to_vec(), remove.to_vec()),
    };
    Ok((rules, defaults))
}

/// `clausewatch extract`: prints the clauses of a page or file, to write
/// selectors for a new document.
pub async fn extract_cmd(args: ExtractArgs) -> Result<Exit> {
    let (mut rules, defaults) = ad_hoc_rules(
        &args.config,
        args.document.as_deref(),
        &args.select,
        &args.remove,
    )?;
    rules.format = args.input_format.map(Format::from);
    let observation = load_source(&args.source, &rules, &defaults).await?;
    print_clauses(&observation.clauses, args.format)?;
    Ok(Exit::Ok)
}
