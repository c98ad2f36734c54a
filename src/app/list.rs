//! `clausewatch list`: the documents the config watches, from bot.toml and
//! from declaration folders, with where each was declared and how its page
//! is read. Reads only the config: nothing is fetched, no database opened.

use super::*;
use crate::config::Origin;

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

#[derive(serde::Serialize)]
struct Listed<'a> {
    id: &'a str,
    name: &'a str,
    service: &'a str,
    url: String,
    /// `bot.toml`, or the declaration file.
    declared_in: String,
    /// `fetch`, `browser` or `auto`.
    render: &'static str,
    /// How many pages make the document (more than one: `combine`).
    pages: usize,
    filters_not_applied: &'a [String],
}

/// `clausewatch list`: one line (or JSON object) per configured document.
pub async fn list(args: ListArgs) -> Result<Exit> {
    let config = args.config.load()?;
    let listed: Vec<Listed> = config
        .documents
        .iter()
        .map(|d| Listed {
            id: &d.id,
            name: &d.name,
            service: &d.service,
            url: crate::pipeline::fetch::redact(&d.url).to_string(),
            declared_in: match &d.reach.origin {
                Origin::Config => config.path.display().to_string(),
                Origin::Declaration(file) => file.display().to_string(),
            },
            render: d.reach.render.as_str(),
            pages: d.reach.pages.len().max(1),
            filters_not_applied: &d.reach.filters_not_applied,
        })
        .collect();
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({"json_version": json::JSON_VERSION, "documents": listed}),
            )?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            for l in &listed {
                let pages = if l.pages > 1 {
                    format!(", {} pages", l.pages)
                } else {
                    String::new()
                };
                writeln!(
                    out,
                    "{}: {} <{}> ({}{pages}; from {})",
                    l.id, l.name, l.url, l.render, l.declared_in
                )?;
            }
        }
    }
    Ok(Exit::Ok)
}
