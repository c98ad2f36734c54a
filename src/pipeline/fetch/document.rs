//! One document's page, however it is read: a plain GET, the browser, the
//! browser after a refused GET, or several pages assembled into one.

use std::time::Duration;

use super::assemble;
use super::{redact, Conditional, FetchError, FetchReport, Fetched, Fetcher, Page, Trust};
use crate::config::ota::Selection;
use crate::config::{Document, Origin, Render};
use crate::pipeline::classify::{self, PageProblem};

impl Fetcher {
    /// Fetches `doc`'s page the way its declaration says. Everything
    /// [`Fetcher::fetch`] promises holds; a document from a declaration
    /// folder gets no loopback exception.
    pub async fn fetch_document(&self, doc: &Document, cond: &Conditional) -> FetchReport {
        let trust = match doc.reach.origin {
            Origin::Config => Trust::Operator,
            Origin::Declaration(_) => Trust::Collection,
        };
        if doc.reach.pages.is_empty() {
            return self
                .read(&doc.url, cond, doc.reach.render, trust, &doc.select)
                .await;
        }
        self.assemble(doc, cond, trust).await
    }

    /// One page; `wait_for` names the elements whose text a browser waits
    /// for.
    async fn read(
        &self,
        url: &url::Url,
        cond: &Conditional,
        render: Render,
        trust: Trust,
        wait_for: &[String],
    ) -> FetchReport {
        match render {
            Render::Fetch => self.fetch_trusting(url, cond, trust).await,
            Render::Browser => self.render(url, trust, wait_for).await,
            Render::FetchOrBrowser => {
                let plain = self.fetch_trusting(url, cond, trust).await;
                if !refused(&plain) {
                    return plain;
                }
                // As Open Terms Archive does: a site that turns the plain
                // client away gets one visit from a real browser. Without
                // one, the plain answer explains more than "no browser".
                let rendered = self.render(url, trust, wait_for).await;
                match rendered.result {
                    Err(FetchError::NoBrowser { .. }) => plain,
                    _ => rendered,
                }
            }
        }
    }

    /// The pages of a range-selected or combined document, as fetched, in
    /// one framed body ([`assemble::frame`]) that observing cuts and joins:
    /// kept raw, so that new rules re-cut a stored snapshot. Any page that
    /// fails fails the document, with that page's report; a page that is
    /// not HTML or is a challenge is passed on whole so that the content
    /// checks and the classifier name it.
    async fn assemble(&self, doc: &Document, cond: &Conditional, trust: Trust) -> FetchReport {
        let pages = &doc.reach.pages;
        // Validators only mean something for a document of one page.
        let single = pages.len() == 1;
        let none = Conditional::default();
        let mut fetched: Vec<(String, Box<Page>)> = Vec::with_capacity(pages.len());
        let (mut attempts, mut bytes, mut duration) = (0, 0, Duration::ZERO);
        let (mut started_at, mut status) = (None, None);
        for rules in pages {
            let wait_for: Vec<String> = rules
                .select
                .iter()
                .map(|s| match s {
                    Selection::Css(css) => css.clone(),
                    Selection::Range(r) => r.start.selector().to_string(),
                })
                .collect();
            let cond = if single { cond } else { &none };
            let mut report = self
                .read(&rules.url, cond, rules.render, trust, &wait_for)
                .await;
            attempts += report.attempts;
            bytes += report.bytes;
            duration += report.duration;
            started_at = started_at.or(Some(report.started_at));
            status = report.status;
            let page = match report.result {
                Ok(Fetched::Page(page)) => page,
                Ok(Fetched::NotModified) | Err(_) => return report,
            };
            if !is_html(&page) || blocked(&page) {
                report.result = Ok(Fetched::Page(page));
                return report;
            }
            fetched.push((redact(&rules.url).to_string(), page));
        }
        let parts: Vec<assemble::Part<'_>> = fetched
            .iter()
            .map(|(url, page)| assemble::Part {
                url,
                content_type: page.content_type.as_deref(),
                body: &page.body,
            })
            .collect();
        let body = assemble::frame(&parts);
        let (etag, last_modified) = match (single, fetched.first()) {
            (true, Some((_, page))) => (page.etag.clone(), page.last_modified.clone()),
            _ => (None, None),
        };
        FetchReport {
            url: redact(&doc.url),
            started_at: started_at.unwrap_or_else(chrono::Utc::now),
            duration,
            attempts,
            status,
            bytes,
            error_body: None,
            result: Ok(Fetched::Page(Box::new(Page {
                final_url: redact(&doc.url),
                status: 200,
                content_type: Some(assemble::PARTS_TYPE.into()),
                body: body.into(),
                // Observing reads the parts from the body; the joined text
                // exists only once they are cut.
                text: String::new().into(),
                encoding: "UTF-8",
                etag,
                last_modified,
                headers: Vec::new(),
            }))),
        }
    }
}

fn is_html(page: &Page) -> bool {
    let mime = page
        .content_type
        .as_deref()
        .unwrap_or("text/html")
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(mime.as_str(), "text/html" | "application/xhtml+xml")
}

fn blocked(page: &Page) -> bool {
    matches!(
        classify::inspect_page(page.status, &page.headers, &page.text),
        Some(PageProblem::Blocked { .. })
    )
}

/// A plain fetch the site refused: 403, 406, or a bot challenge (served
/// as an error or as a 200).
fn refused(report: &FetchReport) -> bool {
    match &report.result {
        Err(FetchError::Status {
            status: 403 | 406, ..
        }) => true,
        Err(FetchError::Status { status, .. }) => report.error_body.as_deref().is_some_and(|b| {
            matches!(
                classify::inspect_page(*status, &[], b),
                Some(PageProblem::Blocked { .. })
            )
        }),
        Ok(Fetched::Page(page)) => blocked(page),
        _ => false,
    }
}
