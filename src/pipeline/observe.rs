//! The one observation path: a body (fetched, stored or read from a file)
//! plus a document's rules → its clauses and version hash, or a classified
//! failure.
//!
//! The daemon, `check`, `extract`, `diff FILE`, `import` and the technical
//! update of stored snapshots all come through [`observe`], so a page read
//! by hand and the same page read by the daemon give the same clauses. This
//! module knows nothing about the store, the schedule or the fediverse.

use sha2::{Digest, Sha256};

use super::classify::{self, PageProblem};
use super::clauses::{self, Clause};
pub use super::content::Baseline;
use super::content::{self, ContentProblem, Language};
use super::extract::{self, ExtractError, Format, Rules};
use super::fetch::assemble::{self, AssembleError};
use super::fetch::{decode, FetchError, FetchReport, Fetched, Page};
use super::noise::NoiseFilter;
use crate::config::ota::PageRules;
use crate::config::{BodyFormat, Defaults, Document};
use crate::domain::FailureClass;

/// Bumped whenever a change to the extraction code may change the clauses of
/// an unchanged page; stored pages are then re-extracted (a technical
/// update) instead of being answered with 304. 2: Markdown through
/// pulldown-cmark, response headers reach the classifier. 3: list items and
/// table rows holding sections split at them, stray emphasis markers and
/// list markers leave page text, navigation headings name no section.
pub const EXTRACTOR_VERSION: u32 = 3;

/// Everything that turns one document's body into clauses.
#[derive(Debug, Clone)]
pub struct ObserveRules {
    /// CSS select/remove and the minimum length.
    pub extract: Rules,
    /// Built-in noise rules plus the document's `ignore` patterns.
    pub noise: NoiseFilter,
    /// The body is JSON and the policy is in this field.
    pub json_field: Option<String>,
    /// An extraction below this share of the last good one is a soft error.
    pub soft_error_ratio: f64,
    /// The input format, when it is not to be guessed (`extract --input`).
    pub format: Option<Format>,
    /// The configured language a page must be in; without one, the last
    /// good version's ([`Baseline::language`]).
    pub language: Option<Language>,
    /// Whether the body goes to the PDF reader (`format` in bot.toml).
    pub body_format: BodyFormat,
    /// The pages of a range-selected or combined document with the rules
    /// that cut each one, applied to a framed body of raw pages.
    pub pages: Vec<PageRules>,
}

impl ObserveRules {
    /// A configured document's rules, with `[defaults]`.
    pub fn for_document(doc: &Document, defaults: &Defaults) -> ObserveRules {
        ObserveRules {
            extract: Rules {
                select: doc.select.clone(),
                remove: doc.remove.clone(),
                min_chars: defaults.min_chars,
            },
            noise: NoiseFilter::new(&doc.ignore),
            json_field: doc.json_field.clone(),
            soft_error_ratio: defaults.soft_error_ratio,
            format: None,
            language: doc
                .language_configured
                .then(|| Language::from_tag(&doc.language))
                .flatten(),
            body_format: doc.reach.format,
            pages: doc.reach.pages.clone(),
        }
    }

    /// Rules given on the command line (`extract`, `diff FILE`): a selector
    /// tool must show short pages too, so any non-empty text is accepted.
    pub fn ad_hoc(select: Vec<String>, remove: Vec<String>) -> ObserveRules {
        ObserveRules {
            extract: Rules {
                select,
                remove,
                min_chars: 1,
            },
            noise: NoiseFilter::default(),
            json_field: None,
            soft_error_ratio: crate::defaults::SOFT_ERROR_RATIO,
            format: None,
            language: None,
            body_format: BodyFormat::Auto,
            pages: Vec::new(),
        }
    }

    /// Identifies everything that turns a page into clauses, the extractor
    /// version included: when it changes, the stored version is re-extracted
    /// instead of the difference being announced.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(EXTRACTOR_VERSION.to_le_bytes());
        for (tag, list) in [
            ("select", &self.extract.select),
            ("remove", &self.extract.remove),
        ] {
            h.update(tag.as_bytes());
            for s in list {
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
        }
        h.update((self.extract.min_chars as u64).to_le_bytes());
        if let Some(field) = &self.json_field {
            h.update(b"json_field");
            h.update(field.as_bytes());
        }
        if let Some(format) = self.format {
            h.update(format!("format {format:?}").as_bytes());
        }
        // Only when declared, so that the documents that leave it to the
        // body keep the fingerprint their versions were made with.
        if self.body_format != BodyFormat::Auto {
            h.update(b"body_format");
            h.update(self.body_format.as_str().as_bytes());
        }
        // The cut of every page, and which pages there are: a page left
        // out of `combine` is a rules change too.
        for page in &self.pages {
            h.update(b"page");
            h.update(page.url.as_str().as_bytes());
            h.update(format!("{:?} {:?}", page.select, page.remove).as_bytes());
        }
        h.update(self.noise.fingerprint().as_bytes());
        hex::encode(h.finalize())
    }
}

/// A body to observe.
#[derive(Debug, Clone, Copy)]
pub struct Body<'a> {
    /// Decoded text.
    pub text: &'a str,
    /// Where it came from (URL or file name), for the format guess.
    pub source: &'a str,
    pub content_type: Option<&'a str>,
    /// HTTP status (200 for files and stored snapshots).
    pub status: u16,
    /// Response headers the classifier reads.
    pub headers: &'a [(String, String)],
    /// The raw bytes `text` was decoded from, when known: the content
    /// checks sniff them.
    pub bytes: Option<&'a [u8]>,
    /// The name of the encoding `text` was decoded with, when known.
    pub encoding: Option<&'a str>,
}

impl<'a> Body<'a> {
    /// A body read from a file or a stored snapshot.
    pub fn stored(text: &'a str, source: &'a str, content_type: Option<&'a str>) -> Body<'a> {
        Body {
            text,
            source,
            content_type,
            status: 200,
            headers: &[],
            bytes: None,
            encoding: None,
        }
    }

    /// A fetched page.
    pub fn page(page: &'a Page) -> Body<'a> {
        Body {
            text: &page.text,
            source: page.final_url.as_str(),
            content_type: page.content_type.as_deref(),
            status: page.status,
            headers: &page.headers,
            bytes: Some(&page.body),
            encoding: Some(page.encoding),
        }
    }
}

/// What the page says: its clauses, in order, and the version hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub clauses: Vec<Clause>,
    pub hash: String,
}

impl Observation {
    /// Characters of clause text, for the soft-error ratio.
    pub fn chars(&self) -> usize {
        char_count(&self.clauses)
    }
}

/// Why a body (or a fetch) gave no observation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{class}: {error}")]
pub struct Failure {
    pub class: FailureClass,
    /// A sentence naming the URL or file.
    pub error: String,
    /// The HTTP status, when there was one.
    pub status: Option<u16>,
}

/// What one fetch showed.
#[derive(Debug)]
pub enum Seen {
    /// 304: the stored version still holds.
    NotModified,
    Page {
        page: Box<Page>,
        observation: Observation,
    },
    Failed(Failure),
}

impl Seen {
    /// The version hash seen, if a page was.
    pub fn hash(&self) -> Option<&str> {
        match self {
            Seen::Page { observation, .. } => Some(&observation.hash),
            _ => None,
        }
    }
}

/// Characters of clause text.
pub fn char_count(clauses: &[Clause]) -> usize {
    clauses.iter().map(|c| c.text.chars().count()).sum()
}

/// Turns a body into clauses, or into a classified failure. Binary bodies
/// (PDF, images, archives), challenge and error pages, texts decoded with
/// the wrong charset and extractions far shorter than the last good version
/// (`baseline`, `None` when there is none) never reach the version
/// comparison.
pub fn observe(
    body: &Body<'_>,
    rules: &ObserveRules,
    baseline: Option<Baseline>,
) -> Result<Observation, Failure> {
    // The pages of an assembled document, as fetched: cut and joined here
    // with the rules of the moment, then read like any page.
    if let Some(bytes) = body
        .bytes
        .filter(|b| assemble::is_framed(body.content_type, b))
    {
        let joined = assemble::assemble(bytes, &rules.pages).map_err(|e| Failure {
            class: match e {
                AssembleError::Cut { .. } => FailureClass::SelectorMismatch,
                AssembleError::Frame(_) | AssembleError::Missing { .. } => FailureClass::Extraction,
            },
            error: match e {
                AssembleError::Frame(_) => format!("{}: {e}", body.source),
                _ => e.to_string(),
            },
            status: Some(body.status),
        })?;
        let page = Body {
            text: &joined,
            content_type: Some("text/html; charset=utf-8"),
            bytes: Some(joined.as_bytes()),
            encoding: Some("UTF-8"),
            ..*body
        };
        return observe(&page, rules, baseline);
    }
    // A PDF policy has its own reader, then the same clause splitting.
    if super::pdf::is_expected_pdf(body, rules) {
        return super::pdf::observe_pdf(body, rules, baseline);
    }
    let failed = |class: FailureClass, error: String| Failure {
        class,
        error,
        status: Some(body.status),
    };
    let problem = |p: &PageProblem| failed(p.class(), format!("{}: {}", body.source, p.reason()));
    let content_problem =
        |p: &ContentProblem| failed(p.class(), format!("{}: {}", body.source, p.reason()));
    // Not the policy at all: nothing else about it is worth looking at.
    if let Some(p) = content::inspect_body(
        body.bytes.unwrap_or(body.text.as_bytes()),
        body.text,
        body.content_type,
        body.encoding,
    ) {
        return Err(content_problem(&p));
    }
    // A challenge wins over any extraction failure (it explains it); an
    // extraction failure is more precise than the page-level "almost empty".
    let page_problem = classify::inspect_page(body.status, body.headers, body.text);
    if let Some(p @ PageProblem::Blocked { .. }) = &page_problem {
        return Err(problem(p));
    }
    let (text, format) = match &rules.json_field {
        Some(field) => json_field(body.text, field)
            .map(|(text, format)| (std::borrow::Cow::Owned(text), format))
            .map_err(|m| failed(FailureClass::Json, format!("{}: {m}", body.source)))?,
        None => (
            std::borrow::Cow::Borrowed(body.text),
            rules
                .format
                .unwrap_or_else(|| Format::guess(body.source, body.content_type, body.text)),
        ),
    };
    let extracted = extract::extract(&text, format, &rules.extract)
        .map_err(|e| failed(extract_error_class(&e), format!("{}: {e}", body.source)))?;
    let clauses = clauses::split_owned(rules.noise.clean_blocks(extracted));
    if let Some(p) = &page_problem {
        return Err(problem(p));
    }
    // Before the length ratio: a wrongly decoded text is about as long as
    // the right one, and the charset is the more precise explanation.
    if let Some(p) = content::inspect_decoding(&clauses, body.encoding, body.bytes, baseline) {
        return Err(content_problem(&p));
    }
    // Before the length ratio: a page in another language is as long as the
    // policy, and its language is the explanation.
    let lang_attribute = match format {
        Format::Html => content::html_lang(&text),
        Format::Markdown | Format::Text => None,
    };
    let expected = rules.language.or(baseline.and_then(|b| b.language));
    if let Some(p) = content::inspect_language(&clauses, lang_attribute, expected) {
        return Err(content_problem(&p));
    }
    let text: Vec<&str> = clauses.iter().map(|c| c.text.as_str()).collect();
    if let Some(p) = classify::inspect_extraction(
        char_count(&clauses),
        &text.join("\n"),
        baseline.map(|b| b.chars),
        rules.soft_error_ratio,
    ) {
        return Err(problem(&p));
    }
    let hash = clauses::version_hash(&clauses);
    Ok(Observation { clauses, hash })
}

/// Observes the result of a fetch: a 304, a page, or a failure (an HTTP
/// error whose body is a challenge is `blocked`, not a plain HTTP error).
/// `baseline` is the last good version's, `None` when there is none.
pub fn observe_fetch(
    report: FetchReport,
    rules: &ObserveRules,
    baseline: Option<Baseline>,
) -> Seen {
    match report.result {
        Ok(Fetched::NotModified) => Seen::NotModified,
        Ok(Fetched::Page(page)) => match observe(&Body::page(&page), rules, baseline) {
            Ok(observation) => Seen::Page { page, observation },
            Err(f) => Seen::Failed(f),
        },
        Err(e) => Seen::Failed(fetch_failure(
            &e,
            report.status,
            report.error_body.as_deref(),
        )),
    }
}

/// Observes raw stored or local bytes (a snapshot, a file), decoded the way
/// a fetched body is. `baseline` is the last good version's, `None` when
/// there is none (a file given by hand is judged on its own).
pub fn observe_bytes(
    bytes: &[u8],
    source: &str,
    content_type: Option<&str>,
    rules: &ObserveRules,
    baseline: Option<Baseline>,
) -> Result<Observation, Failure> {
    if assemble::is_framed(content_type, bytes) {
        // Parts are decoded one by one, each with its own type.
        let body = Body {
            bytes: Some(bytes),
            ..Body::stored("", source, content_type)
        };
        return observe(&body, rules, baseline);
    }
    let (text, encoding) = decode(bytes, content_type);
    let body = Body {
        bytes: Some(bytes),
        encoding: Some(encoding.name()),
        ..Body::stored(&text, source, content_type)
    };
    observe(&body, rules, baseline)
}

fn fetch_failure(e: &FetchError, status: Option<u16>, error_body: Option<&str>) -> Failure {
    if let (FetchError::Status { status, url }, Some(body)) = (e, error_body) {
        if !matches!(status, 404 | 410) {
            if let Some(p) = classify::inspect_error_body(*status, body) {
                return Failure {
                    class: p.class(),
                    error: format!("{url}: {}", p.reason()),
                    status: Some(*status),
                };
            }
        }
    }
    Failure {
        class: e.class(),
        error: e.to_string(),
        status,
    }
}

fn extract_error_class(e: &ExtractError) -> FailureClass {
    match e {
        ExtractError::NothingSelected { .. } => FailureClass::SelectorMismatch,
        ExtractError::TooShort { .. } => FailureClass::TooShort,
        ExtractError::InvalidSelector { .. } => FailureClass::Extraction,
    }
}

/// Takes the policy out of a JSON response (e.g. Mastodon's
/// `/api/v1/instance/privacy_policy`, whose `content` is HTML).
fn json_field(body: &str, field: &str) -> Result<(String, Format), String> {
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| format!("not JSON (json_field = {field:?}): {e}"))?;
    let pointer = if field.starts_with('/') {
        field.to_string()
    } else {
        format!("/{field}")
    };
    let text = value
        .pointer(&pointer)
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("no string field {field:?} in the JSON response"))?;
    Ok((text.to_string(), Format::guess("", None, text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> ObserveRules {
        let mut r = ObserveRules::ad_hoc(vec!["main".into()], vec![".ad".into()]);
        r.extract.min_chars = 20;
        r
    }

    const PAGE: &str = "<html><body><nav>Menu</nav><main><h1>Privacy</h1>\
        <p>We collect your email address. Updated 3 minutes ago</p>\
        <div class=\"ad\">Buy now</div></main></body></html>";

    #[test]
    fn html_is_selected_cleaned_and_hashed() {
        let o = observe(&Body::stored(PAGE, "p.html", None), &rules(), None).unwrap();
        let texts: Vec<&str> = o.clauses.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["Privacy", "We collect your email address."]);
        assert_eq!(o.hash, clauses::version_hash(&o.clauses));
    }

    #[test]
    fn markdown_and_html_of_one_policy_observe_alike() {
        let md = "# Privacy\n\nWe collect your **email** address.\n";
        let html = "<main><h1>Privacy</h1><p>We collect your <b>email</b> address.</p></main>";
        let mut r = rules();
        r.extract.min_chars = 1;
        let a = observe(&Body::stored(md, "v.md", None), &r, None).unwrap();
        let b = observe(&Body::stored(html, "v.html", None), &r, None).unwrap();
        assert_eq!(a.hash, b.hash);
    }

    #[test]
    fn failures_are_classified() {
        let r = rules();
        let f = observe(&Body::stored("<p>hi</p>", "p.html", None), &r, None).unwrap_err();
        assert_eq!(f.class, FailureClass::SelectorMismatch);
        assert!(f.error.starts_with("p.html: "), "{}", f.error);
        let short = "<main><p>Too short.</p></main>";
        let f = observe(&Body::stored(short, "p.html", None), &r, None).unwrap_err();
        assert_eq!(f.class, FailureClass::TooShort);
        let mut json = rules();
        json.json_field = Some("content".into());
        let f = observe(&Body::stored("<html>", "p", None), &json, None).unwrap_err();
        assert_eq!(f.class, FailureClass::Json);
        // Far shorter than the last good version: a soft error.
        let far_longer = Baseline {
            chars: 10_000,
            suspicious_chars: 0,
            language: None,
        };
        let f = observe(&Body::stored(PAGE, "p.html", None), &r, Some(far_longer)).unwrap_err();
        assert_eq!(f.class, FailureClass::SoftError);
    }

    #[test]
    fn a_challenge_header_blocks_a_success_page() {
        let headers = vec![("cf-mitigated".to_string(), "challenge".to_string())];
        let body = Body {
            headers: &headers,
            ..Body::stored(PAGE, "https://x.test/p", None)
        };
        let f = observe(&body, &rules(), None).unwrap_err();
        assert_eq!(f.class, FailureClass::Blocked);
    }

    #[test]
    fn json_field_takes_the_policy_out_of_json() {
        let mut r = rules();
        r.json_field = Some("content".into());
        let json = serde_json::json!({ "content": PAGE }).to_string();
        let o = observe(&Body::stored(&json, "https://x.test/api", None), &r, None).unwrap();
        assert_eq!(o.clauses.len(), 2);
    }

    #[test]
    fn fingerprint_covers_every_rule() {
        let base = rules();
        let mut other_select = base.clone();
        other_select.extract.select = vec!["article".into()];
        let mut ignoring = base.clone();
        ignoring.noise = NoiseFilter::new(&[regex::Regex::new("Visitors: \\d+").unwrap()]);
        let mut json = base.clone();
        json.json_field = Some("content".into());
        let mut pdf = base.clone();
        pdf.body_format = BodyFormat::Pdf;
        let prints = [&base, &other_select, &ignoring, &json, &pdf].map(|r| r.fingerprint());
        for (i, a) in prints.iter().enumerate() {
            for b in &prints[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(base.fingerprint(), rules().fingerprint());
    }
}
