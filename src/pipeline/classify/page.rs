//! A cheap view of a page for classification: its title, its visible text
//! (scripts, styles and markup removed, lowercased) and the source, plus the
//! signal tables matched against them (ignoring ASCII case in the source).
//!
//! This is deliberately not a full HTML parse: it must stay fast on large
//! pages and never fail on broken markup, and only needs to tell a tiny
//! interstitial from a long document.

/// Visible text up to this length lets challenge markers in the source and
/// challenge titles decide. Interstitials show a few hundred characters
/// (plus a footer), policies thousands.
const MARKER_PAGE_MAX_CHARS: usize = 3_000;

/// Visible text up to this length lets challenge or JavaScript wording in the
/// text alone decide: without a vendor marker, the page must be little more
/// than the message.
const PHRASE_PAGE_MAX_CHARS: usize = 1_000;

/// Visible text up to this length lets error wording decide (soft 404).
const ERROR_PAGE_MAX_CHARS: usize = 1_500;

/// Fewer visible characters than this is an empty page.
const EMPTY_PAGE_MAX_CHARS: usize = 20;

/// Source markers of challenge and captcha systems, with the system's name.
/// Each is specific to an interstitial, not to the vendor's ordinary
/// page scripts.
const SOURCE_MARKERS: &[(&str, &str)] = &[
    ("cf_chl_opt", "Cloudflare challenge"),
    ("cf-chl-", "Cloudflare challenge"),
    ("cf_chl_", "Cloudflare challenge"),
    ("/cdn-cgi/challenge-platform/h/", "Cloudflare challenge"),
    ("challenges.cloudflare.com", "Cloudflare Turnstile"),
    ("cf-turnstile", "Cloudflare Turnstile"),
    ("px-captcha", "PerimeterX/HUMAN captcha"),
    ("captcha.px-cdn.net", "PerimeterX/HUMAN captcha"),
    ("captcha-delivery.com", "DataDome captcha"),
    ("incapsula incident id", "Imperva/Incapsula block"),
    ("_incapsula_resource", "Imperva/Incapsula block"),
    ("awswafintegration", "AWS WAF challenge"),
    ("awswaf.com", "AWS WAF challenge"),
    ("errors.edgesuite.net", "Akamai block"),
    ("g-recaptcha", "reCAPTCHA"),
    ("google.com/recaptcha/", "reCAPTCHA"),
    ("recaptcha.net/recaptcha/", "reCAPTCHA"),
    ("h-captcha", "hCaptcha"),
    ("hcaptcha.com/1/api.js", "hCaptcha"),
    ("ddos-guard", "DDoS-Guard check"),
];

/// Titles of interstitials (matched as phrases inside the lowercased title).
const CHALLENGE_TITLES: &[&str] = &[
    "just a moment",
    "attention required",
    "un instant",
    "einen moment",
    "one moment, please",
    "access denied",
    "access to this page has been denied",
    "robot check",
    "are you a robot",
    "pardon our interruption",
    "security check",
    "human verification",
    "verify you are human",
    "bot verification",
    "captcha",
    "403 forbidden",
    "request rejected",
    "accès refusé",
];

/// Wording of interstitials in the visible text.
const CHALLENGE_PHRASES: &[&str] = &[
    "verify you are human",
    "verifying you are human",
    "verify that you are human",
    "checking your browser",
    "checking if the site connection is secure",
    "enable javascript and cookies to continue",
    "please complete the security check",
    "press & hold",
    "press and hold",
    "not a robot",
    "unusual traffic from your",
    "automated access",
    "type the characters you see",
    "enter the characters you see",
    "access denied",
    "you don't have permission to access",
    "the requested url was rejected",
    "request unsuccessful",
    "you have been blocked",
    "sorry, you have been blocked",
    "vérifiez que vous êtes humain",
    "vérification que vous êtes humain",
];

/// Wording of JavaScript-only shells ("noscript" messages): with next to no
/// other visible text, the content is not in the page we got.
const JAVASCRIPT_PHRASES: &[&str] = &[
    "enable javascript",
    "javascript is disabled",
    "javascript is not available",
    "javascript is required",
    "requires javascript",
    "need javascript",
    "needs javascript",
    "javascript to run this app",
    "activer javascript",
    "activez javascript",
];

/// Wording of error pages, English and French (plus a few common others),
/// matched in the title or a short visible text, and in short extractions.
pub(super) const ERROR_PHRASES: &[&str] = &[
    "page not found",
    "not found",
    "404",
    "something went wrong",
    "we're sorry",
    "we are sorry",
    "an error occurred",
    "an error has occurred",
    "error occurred while processing",
    "try again later",
    "please try again",
    "service unavailable",
    "temporarily unavailable",
    "internal server error",
    "bad gateway",
    "gateway timeout",
    "under maintenance",
    "page doesn't exist",
    "page does not exist",
    "no longer available",
    "page introuvable",
    "page non trouvée",
    "erreur 404",
    "une erreur est survenue",
    "une erreur s'est produite",
    "un problème est survenu",
    "réessayez plus tard",
    "réessayer plus tard",
    "veuillez réessayer",
    "service indisponible",
    "n'existe pas",
    "nous sommes désolés",
    "désolé",
    "seite nicht gefunden",
    "ein fehler ist aufgetreten",
    "página no encontrada",
    "algo salió mal",
];

/// Visible text is collected in steps of about these many bytes, each
/// read from the start of the page. Past [`MARKER_PAGE_MAX_CHARS`]
/// normalized characters the page is far longer than any interstitial,
/// and the rest of the text cannot change what the view says (see
/// [`PageView::new`]), so a 10 MB page costs no copy of itself here. A
/// policy's first 4 KB of visible text normalizes to more than that; a
/// deeply indented or entity-heavy one needs the second step, and only a
/// prefix that still normalizes shorter is read in full. (Normalizing a
/// fixed 16 KB of every policy was a sixteenth of its first check.)
const VISIBLE_SCAN_STEPS: [usize; 3] = [4 * 1024, 16 * 1024, usize::MAX];

pub(super) struct PageView<'a> {
    /// The body as fetched, for markers (searched case-insensitively).
    source: &'a str,
    /// Lowercased title, entities and quotes normalized.
    title: String,
    /// Lowercased visible text, whitespace collapsed; only its beginning
    /// when `text_chars` exceeds [`MARKER_PAGE_MAX_CHARS`].
    text: String,
    /// Exact up to [`MARKER_PAGE_MAX_CHARS`]; above it, a lower bound. Every
    /// check is gated on the page being at most that long, so above it
    /// only "too long to be an interstitial" matters.
    text_chars: usize,
}

impl<'a> PageView<'a> {
    pub(super) fn new(body: &'a str) -> PageView<'a> {
        let title = title_of(body).map(normalize_text).unwrap_or_default();
        // A cut prefix ends at a whitespace character, where normalizing
        // cannot join it with what follows: its normalized text is a prefix
        // of the whole page's, so its length is a lower bound of the whole.
        // Only a prefix too short to decide needs the whole text.
        let mut text = String::new();
        for limit in VISIBLE_SCAN_STEPS {
            let (visible, complete) = visible_text(body, limit);
            text = normalize_text(&visible);
            if complete || text.chars().count() > MARKER_PAGE_MAX_CHARS {
                break;
            }
        }
        let text_chars = text.chars().count();
        PageView {
            source: body,
            title,
            text,
            text_chars,
        }
    }

    /// A challenge, captcha or access-denied interstitial, or a page that
    /// only says JavaScript is needed.
    pub(super) fn challenge(&self) -> Option<String> {
        if self.text_chars <= MARKER_PAGE_MAX_CHARS {
            if let Some((marker, system)) = SOURCE_MARKERS
                .iter()
                .find(|(m, _)| find_ascii_ci(self.source, m).is_some())
            {
                return Some(format!(
                    "{system} (marker {marker:?}, {} visible characters)",
                    self.text_chars
                ));
            }
            // Akamai writes its block page with numeric entities, so its
            // edgesuite.net link is only found in the decoded text.
            let denied = contains_phrase(&self.title, "access denied")
                || contains_phrase(&self.text, "access denied");
            if denied
                && (self.text.contains("reference #") || self.text.contains("errors.edgesuite.net"))
            {
                return Some(format!(
                    "Akamai access denied (\"Reference #\", {} visible characters)",
                    self.text_chars
                ));
            }
            if let Some(t) = CHALLENGE_TITLES
                .iter()
                .find(|t| contains_phrase(&self.title, t))
            {
                // The title is the page's to choose: keep the reason short.
                let title: String = self.title.chars().take(80).collect();
                return Some(format!("interstitial page titled {title:?} (phrase {t:?})"));
            }
        }
        if self.text_chars <= PHRASE_PAGE_MAX_CHARS {
            if let Some(p) = CHALLENGE_PHRASES
                .iter()
                .find(|p| contains_phrase(&self.text, p))
            {
                return Some(format!(
                    "interstitial page saying {p:?} ({} visible characters)",
                    self.text_chars
                ));
            }
            if let Some(p) = JAVASCRIPT_PHRASES
                .iter()
                .find(|p| contains_phrase(&self.text, p))
            {
                return Some(format!(
                    "page needs JavaScript to show its content: {p:?} ({} visible characters)",
                    self.text_chars
                ));
            }
        }
        None
    }

    /// An error page served with a success status, or an empty page.
    pub(super) fn soft_error(&self) -> Option<String> {
        if self.text_chars < EMPTY_PAGE_MAX_CHARS {
            return Some(format!(
                "page has almost no visible text ({} characters)",
                self.text_chars
            ));
        }
        if self.text_chars > ERROR_PAGE_MAX_CHARS {
            return None;
        }
        let in_title = ERROR_PHRASES
            .iter()
            .find(|p| contains_phrase(&self.title, p));
        let found = in_title.or_else(|| {
            ERROR_PHRASES
                .iter()
                .find(|p| contains_phrase(&self.text, p))
        })?;
        Some(format!(
            "short page ({} visible characters) reads like an error page: {found:?}",
            self.text_chars
        ))
    }
}

/// The text of the first `<title>` element (tag names in any case).
fn title_of(source: &str) -> Option<&str> {
    let start = find_ascii_ci(source, "<title")?;
    let after = &source[start..];
    let open_end = after.find('>')? + 1;
    let inner = &after[open_end..];
    let end = find_ascii_ci(inner, "</title").unwrap_or(inner.len());
    Some(&inner[..end])
}

/// Where `needle` (ASCII, lowercase) first occurs in `hay`, ignoring ASCII
/// case: tag names and markers are matched without a lowercased copy of
/// the page.
fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    let (&first, rest) = needle.split_first()?;
    let last_start = hay.len().checked_sub(needle.len())?;
    (0..=last_start).find(|&i| {
        hay[i].to_ascii_lowercase() == first
            && hay[i + 1..i + needle.len()].eq_ignore_ascii_case(rest)
    })
}

/// Text outside tags, comments, `<script>`, `<style>` and `<template>`, with
/// elements' boundaries turned into spaces. `<noscript>` content is kept: it
/// is exactly what a JavaScript-less fetcher "sees", and where shells put
/// their "enable JavaScript" message. Works on text and Markdown too (they
/// have no tags). Tag names match in any case; the text keeps its case.
///
/// Collects about `limit` bytes at most: a text cut short (`false`) ends
/// just before a whitespace character of the whole text, or is empty when
/// there was none to cut at.
fn visible_text(source: &str, limit: usize) -> (String, bool) {
    let mut out = String::with_capacity(source.len().min(limit) / 4);
    let mut rest = source;
    while let Some(lt) = rest.find('<') {
        if !push_bounded(&mut out, &rest[..lt], limit) {
            return (cut_at_whitespace(out), false);
        }
        let tag = &rest[lt..];
        let next = tag.as_bytes().get(1).copied();
        // A '<' not followed by a tag start is text ("a < b" in Markdown).
        if !next.is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'/' | b'!' | b'?')) {
            out.push('<');
            rest = &tag[1..];
            continue;
        }
        if let Some(after) = tag.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |i| &after[i + 3..]);
            continue;
        }
        let skipped = ["script", "style", "template"]
            .into_iter()
            .find(|name| is_element_start(tag, name));
        if let Some(name) = skipped {
            let close = format!("</{name}");
            rest = find_ascii_ci(tag, &close).map_or("", |i| &tag[i + close.len()..]);
            // The closing tag's own '>' is dropped with the next tag scan.
            rest = rest.find('>').map_or("", |i| &rest[i + 1..]);
        } else {
            rest = tag.find('>').map_or("", |i| &tag[i + 1..]);
        }
        out.push(' ');
    }
    if !push_bounded(&mut out, rest, limit) {
        return (cut_at_whitespace(out), false);
    }
    (out, true)
}

/// Appends `text`, or only as much of it as fits in `limit` bytes (and
/// then says so with `false`).
fn push_bounded(out: &mut String, text: &str, limit: usize) -> bool {
    let room = limit.saturating_sub(out.len());
    if text.len() <= room {
        out.push_str(text);
        return true;
    }
    let mut end = room;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    out.push_str(&text[..end]);
    false
}

/// The text before its last whitespace character (empty if it has none).
fn cut_at_whitespace(mut text: String) -> String {
    let end = text.rfind(char::is_whitespace).unwrap_or(0);
    text.truncate(end);
    text
}

/// `tag` starts with `<name` (in any case) followed by a character that
/// ends a tag name.
fn is_element_start(tag: &str, name: &str) -> bool {
    let Some(head) = tag.get(1..1 + name.len()) else {
        return false;
    };
    let after = &tag[1 + name.len()..];
    head.eq_ignore_ascii_case(name)
        && (after.is_empty()
            || after.starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/'))
}

/// Lowercases, decodes the entities that interstitials use in their
/// wording, unifies apostrophes and collapses whitespace, so that
/// "We&rsquo;re Sorry" matches "we're sorry".
pub(super) fn normalize_text(text: &str) -> String {
    const ENTITIES: &[(&str, &str)] = &[
        ("&nbsp;", " "),
        ("&amp;", "&"),
        ("&apos;", "'"),
        ("&rsquo;", "'"),
        ("&quot;", "\""),
        ("&hellip;", "..."),
        ("&eacute;", "é"),
        ("&egrave;", "è"),
        ("&ecirc;", "ê"),
    ];
    let mut s = decode_numeric_entities(&text.to_lowercase());
    if s.contains('&') {
        for (entity, replacement) in ENTITIES {
            if s.contains(entity) {
                s = s.replace(entity, replacement);
            }
        }
    }
    let s = s
        .replace(['\u{2019}', '\u{2018}', '\u{02bc}'], "'")
        .replace('\u{2026}', "...");
    crate::pipeline::extract::collapse_ws(&s)
}

/// Decodes `&#NN;` and `&#xHH;` (block pages spell URLs and punctuation that
/// way); anything malformed or not a valid character stays as written.
fn decode_numeric_entities(s: &str) -> String {
    if !s.contains("&#") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("&#") {
        out.push_str(&rest[..i]);
        let candidate = &rest[i + 2..];
        let decoded = candidate.find(';').filter(|&end| end <= 8).and_then(|end| {
            let digits = &candidate[..end];
            let code = match digits.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => digits.parse::<u32>().ok(),
            };
            code.and_then(char::from_u32).map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &candidate[end + 1..];
            }
            None => {
                out.push_str("&#");
                rest = candidate;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `needle` occurs in `hay` with no letter or digit glued to either end, so
/// that "404" does not match "14040" and "not found" not "not foundation".
pub(super) fn contains_phrase(hay: &str, needle: &str) -> bool {
    let mut from = 0;
    while let Some(i) = hay[from..].find(needle) {
        let start = from + i;
        let end = start + needle.len();
        let before_ok = !hay[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        let after_ok = !hay[end..].chars().next().is_some_and(char::is_alphanumeric);
        if before_ok && after_ok {
            return true;
        }
        // Advance by one character, not one byte, to stay on a boundary.
        from = start + hay[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}
