//! Policies published as PDF: their text layer, read by `pdf-extract`
//! (on `lopdf`), turned into the same blocks as a page, so that the rest
//! of the observation path (noise, clauses, lengths) is the one every page
//! goes through.
//!
//! A PDF keeps no structure, only positioned text; what is rebuilt here is
//! what its layout shows: a blank line ends a paragraph, a short line that
//! does not end a sentence and stands alone is a heading (numbered
//! headings, `2.1 Sharing`, get their depth from the number), a line
//! starting with a bullet is a list item, and words cut at a line end are
//! joined again.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::classify::{self, PageProblem};
use super::clauses;
use super::extract::{Block, ClauseKind, Extracted};
use super::observe::{char_count, Baseline, Body, Failure, Observation, ObserveRules};
use crate::config::BodyFormat;
use crate::domain::FailureClass;

/// Why a PDF gave no text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// Pages without a text layer: scanned images.
    #[error("the PDF has no text layer (scanned pages?)")]
    NoText,
    #[error("the PDF is encrypted and cannot be read without its password")]
    Encrypted,
    #[error("the PDF cannot be read: {0}")]
    Broken(String),
}

impl PdfError {
    pub fn class(&self) -> FailureClass {
        match self {
            PdfError::NoText => FailureClass::PdfNoText,
            PdfError::Encrypted | PdfError::Broken(_) => FailureClass::PdfUnreadable,
        }
    }
}

/// Whether the body goes to the PDF reader. A document declared
/// `format = "pdf"` always does and one declared `"html"` never does;
/// otherwise the body must say it is a PDF (its type or its first bytes)
/// and the document be a PDF policy (its URL ends in `.pdf`, or it has no
/// CSS selection to apply). A PDF in the place of a page cut by selectors
/// is a stand-in, which the content checks refuse.
pub fn is_expected_pdf(body: &Body<'_>, rules: &ObserveRules) -> bool {
    match rules.body_format {
        BodyFormat::Pdf => return true,
        BodyFormat::Html => return false,
        BodyFormat::Auto => {}
    }
    let typed = body
        .content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/pdf"));
    let path = body
        .source
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    (typed || has_magic(body)) && (path.ends_with(".pdf") || rules.extract.select.is_empty())
}

/// The body starts (after blank space) as every PDF file does.
fn has_magic(body: &Body<'_>) -> bool {
    body.bytes.is_some_and(|b| {
        let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(0);
        b[start..].starts_with(b"%PDF-")
    })
}

/// The blocks of a PDF's text layer.
pub fn extract_pdf(bytes: &[u8]) -> Result<Extracted, PdfError> {
    // The parser is fed what a server sent; a panic on a malformed file
    // must be a failure of this document, not of the check.
    let text = catch_unwind(AssertUnwindSafe(|| {
        pdf_extract::extract_text_from_mem(bytes)
    }))
    .map_err(|_| PdfError::Broken("the parser gave up on its structure".into()))?;
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            let encrypted = lopdf::Document::load_mem(bytes)
                .map(|d| d.is_encrypted() || d.was_encrypted())
                .unwrap_or_else(|e| matches!(e, lopdf::Error::Decryption(_)));
            return Err(if encrypted {
                PdfError::Encrypted
            } else {
                PdfError::Broken(e.to_string())
            });
        }
    };
    let extracted = blocks(&text);
    if extracted.blocks.is_empty() {
        return Err(PdfError::NoText);
    }
    Ok(extracted)
}

/// Observes a PDF body the way [`super::observe::observe`] observes a
/// page: blocks, noise, clauses, the minimum length and the soft-error
/// ratio.
pub fn observe_pdf(
    body: &Body<'_>,
    rules: &ObserveRules,
    baseline: Option<Baseline>,
) -> Result<Observation, Failure> {
    let failed = |class: FailureClass, reason: String| Failure {
        class,
        error: format!("{}: {reason}", body.source),
        status: Some(body.status),
    };
    if rules.body_format == BodyFormat::Pdf && !has_magic(body) {
        // Declared a PDF, served something else: a challenge page says
        // what happened; anything else is a stand-in, never the policy.
        if let Some(p @ PageProblem::Blocked { .. }) =
            classify::inspect_page(body.status, body.headers, body.text)
        {
            return Err(failed(p.class(), p.reason().to_string()));
        }
        return Err(failed(
            FailureClass::UnexpectedContent,
            format!(
                "format = \"pdf\" is declared, but the body is not a PDF (content type {})",
                body.content_type.unwrap_or("none")
            ),
        ));
    }
    let bytes = body.bytes.unwrap_or(body.text.as_bytes());
    let extracted = extract_pdf(bytes).map_err(|e| failed(e.class(), e.to_string()))?;
    let clauses = clauses::split(&rules.noise.clean_blocks(extracted));
    let chars = char_count(&clauses);
    if chars < rules.extract.min_chars {
        return Err(failed(
            FailureClass::TooShort,
            format!(
                "the PDF's text is {chars} characters, fewer than min_chars = {}",
                rules.extract.min_chars
            ),
        ));
    }
    let text: Vec<&str> = clauses.iter().map(|c| c.text.as_str()).collect();
    if let Some(p) = classify::inspect_extraction(
        chars,
        &text.join("\n"),
        baseline.map(|b| b.chars),
        rules.soft_error_ratio,
    ) {
        return Err(failed(p.class(), p.reason().to_string()));
    }
    let hash = clauses::version_hash(&clauses);
    Ok(Observation { clauses, hash })
}

const BULLETS: &[char] = &['•', '◦', '▪', '‣', '–', '—', '-', '*', '·'];

fn list_item(line: &str) -> Option<&str> {
    let rest = line.strip_prefix(BULLETS)?;
    rest.starts_with(' ').then(|| rest.trim_start())
}

/// `2.1 Sharing` → depth 2; `Sharing` → none.
fn numbered_depth(line: &str) -> Option<u8> {
    let number = line.split_whitespace().next()?;
    let digits = number.trim_end_matches('.');
    let parts: Vec<&str> = digits.split('.').collect();
    (parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && line.len() > number.len())
    .then(|| parts.len().min(5) as u8)
}

fn looks_like_heading(line: &str, alone: bool) -> bool {
    let words = line.split_whitespace().count();
    let first = line.chars().next().unwrap_or(' ');
    alone
        && words <= 12
        && line.chars().count() <= 90
        && !line.ends_with(['.', ',', ';', ':', '!', '?'])
        && (first.is_uppercase() || first.is_ascii_digit())
}

/// Rebuilds blocks from the text layer's lines.
pub fn blocks(text: &str) -> Extracted {
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut out = Vec::new();
    let mut para = String::new();
    let mut kind = ClauseKind::Paragraph;
    let flush = |para: &mut String, kind: &mut ClauseKind, out: &mut Vec<Block>| {
        if !para.trim().is_empty() {
            out.push(Block {
                kind: *kind,
                text: para.trim().to_string(),
            });
        }
        para.clear();
        *kind = ClauseKind::Paragraph;
    };
    for (i, line) in lines.iter().enumerate() {
        if line.is_empty() {
            flush(&mut para, &mut kind, &mut out);
            continue;
        }
        let next_blank = lines.get(i + 1).is_none_or(|l| l.is_empty());
        let prev_blank = i == 0 || lines[i - 1].is_empty();
        if let Some(item) = list_item(line) {
            flush(&mut para, &mut kind, &mut out);
            kind = ClauseKind::ListItem;
            para.push_str(item);
            continue;
        }
        if para.is_empty() && looks_like_heading(line, prev_blank || next_blank) {
            let level = numbered_depth(line).map_or(2, |d| d + 1).min(6);
            out.push(Block {
                kind: ClauseKind::Heading { level },
                text: line.clone(),
            });
            continue;
        }
        if para.ends_with('-') && line.starts_with(|c: char| c.is_lowercase()) {
            para.pop();
        } else if !para.is_empty() {
            para.push(' ');
        }
        para.push_str(line);
        // A sentence that ends well short of the line width ends its
        // paragraph, when the PDF leaves no blank line between them.
        let short = line.chars().count() * 10 < width * 8;
        if short && line.ends_with(['.', '!', '?', ':']) {
            flush(&mut para, &mut kind, &mut out);
        }
    }
    flush(&mut para, &mut kind, &mut out);
    Extracted { blocks: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(e: &Extracted) -> Vec<(ClauseKind, &str)> {
        e.blocks.iter().map(|b| (b.kind, b.text.as_str())).collect()
    }

    #[test]
    fn layout_gives_headings_paragraphs_and_list_items() {
        let text = "Example Privacy Policy\n\n1. What we collect\n\nWe collect the email address you give us when you sign up for an\naccount, and the pages of the service you visit.\n\n• your email address\n• your language\n\n2.1 Sharing\nWe never sell your personal data to adver-\ntisers or to anyone else, whatever they offer.\nShort last line.\nA new paragraph starts here and runs on to the end of the line width.\n";
        let e = blocks(text);
        assert_eq!(
            kinds(&e),
            [
                (ClauseKind::Heading { level: 2 }, "Example Privacy Policy"),
                (ClauseKind::Heading { level: 2 }, "1. What we collect"),
                (ClauseKind::Paragraph, "We collect the email address you give us when you sign up for an account, and the pages of the service you visit."),
                (ClauseKind::ListItem, "your email address"),
                (ClauseKind::ListItem, "your language"),
                (ClauseKind::Heading { level: 3 }, "2.1 Sharing"),
                (ClauseKind::Paragraph, "We never sell your personal data to advertisers or to anyone else, whatever they offer."),
                (ClauseKind::Paragraph, "Short last line."),
                (ClauseKind::Paragraph, "A new paragraph starts here and runs on to the end of the line width."),
            ]
        );
    }

    #[test]
    fn bytes_that_are_not_a_readable_pdf_are_clean_failures() {
        for bytes in [
            &b"%PDF-1.7\nthis is not really a PDF\n%%EOF\n"[..],
            &b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF"[..],
            &[0u8, 159, 146, 150][..],
        ] {
            let err = extract_pdf(bytes).unwrap_err();
            assert_eq!(err.class(), FailureClass::PdfUnreadable, "{err}");
        }
        assert_eq!(PdfError::NoText.class(), FailureClass::PdfNoText);
    }

    #[test]
    fn a_pdf_is_expected_by_its_url_or_an_unselected_document() {
        let rules = ObserveRules::ad_hoc(Vec::new(), Vec::new());
        let css = ObserveRules::ad_hoc(vec!["main".into()], Vec::new());
        let pdf = b"%PDF-1.7\n";
        let body = |source, ct| Body {
            bytes: Some(pdf),
            ..Body::stored("", source, ct)
        };
        assert!(is_expected_pdf(
            &body("https://e.org/p", Some("application/pdf")),
            &rules
        ));
        assert!(is_expected_pdf(
            &body("https://e.org/p.pdf?x=1", None),
            &css
        ));
        assert!(!is_expected_pdf(
            &body("https://e.org/p", Some("application/pdf")),
            &css
        ));
        let html = Body::stored("<html></html>", "https://e.org/p", Some("text/html"));
        assert!(!is_expected_pdf(&html, &rules));
        // The declaration decides over type, bytes and URL.
        let declared = |format| ObserveRules {
            body_format: format,
            ..css.clone()
        };
        let octets = body(
            "https://e.org/download?id=7",
            Some("application/octet-stream"),
        );
        assert!(!is_expected_pdf(&octets, &css));
        assert!(is_expected_pdf(&octets, &declared(BodyFormat::Pdf)));
        let typed = body("https://e.org/p.pdf", Some("application/pdf"));
        assert!(!is_expected_pdf(&typed, &declared(BodyFormat::Html)));
    }

    #[test]
    fn a_declared_pdf_that_is_not_one_is_a_stand_in() {
        let rules = ObserveRules {
            body_format: BodyFormat::Pdf,
            ..ObserveRules::ad_hoc(Vec::new(), Vec::new())
        };
        let page = "<html><body><p>Sign in to download the policy.</p></body></html>";
        let body = Body {
            bytes: Some(page.as_bytes()),
            ..Body::stored(page, "https://e.org/download", Some("text/html"))
        };
        let f = observe_pdf(&body, &rules, None).unwrap_err();
        assert_eq!(f.class, FailureClass::UnexpectedContent);
        assert!(
            f.error
                .starts_with("https://e.org/download: format = \"pdf\" is declared"),
            "{}",
            f.error
        );
    }
}
