//! Character-set detection and decoding of fetched bodies.
//!
//! Precedence, highest first:
//! 1. a byte-order mark (UTF-8, UTF-16LE, UTF-16BE);
//! 2. the `charset` parameter of the `Content-Type` header;
//! 3. a `<meta charset>` or `<meta http-equiv="content-type" content="...; charset=...">`
//!    declaration. The first 1024 bytes are scanned first, as the HTML prescan does. Many
//!    real policy pages put dozens of `<link>`/`<script>` tags before their meta tag, so if
//!    nothing is found there the scan continues through the rest of the `<head>` (it stops
//!    at `</head>` or `<body>`), bounded by [`LATE_META_SCAN_LIMIT`] bytes;
//! 4. UTF-8.
//!
//! Labels are resolved with the WHATWG Encoding Standard (`encoding_rs`), so
//! `iso-8859-1` and `us-ascii` decode as windows-1252, the way browsers do. A meta tag
//! claiming UTF-16 means UTF-8 (the bytes were already readable as ASCII), and
//! `x-user-defined` means windows-1252, both as the HTML standard prescribes.

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// Length of the early prescan window, as in the HTML standard.
pub const EARLY_META_SCAN_LIMIT: usize = 1024;
/// Upper bound for the fallback scan of a long `<head>`.
pub const LATE_META_SCAN_LIMIT: usize = 64 * 1024;

/// Decodes `body` to text and reports the encoding used (see the module docs for the rules).
/// Malformed sequences become U+FFFD rather than failing: a page with one stray byte is
/// still worth diffing.
pub fn decode(body: &[u8], content_type: Option<&str>) -> (String, &'static Encoding) {
    let encoding = detect(body, content_type);
    // `decode` strips a BOM and lets it override `encoding`, matching rule 1.
    let (text, used, _had_errors) = encoding.decode(body);
    (text.into_owned(), used)
}

/// Picks the encoding for `body` without decoding it.
pub fn detect(body: &[u8], content_type: Option<&str>) -> &'static Encoding {
    if let Some((bom_encoding, _)) = Encoding::for_bom(body) {
        return bom_encoding;
    }
    if let Some(encoding) = content_type
        .and_then(charset_param)
        .and_then(|label| Encoding::for_label(label.as_bytes()))
    {
        return encoding;
    }
    let early = &body[..body.len().min(EARLY_META_SCAN_LIMIT)];
    if let Some(encoding) = scan_meta(early) {
        return encoding;
    }
    if body.len() > EARLY_META_SCAN_LIMIT {
        let late = &body[..body.len().min(LATE_META_SCAN_LIMIT)];
        if let Some(encoding) = scan_meta(late) {
            return encoding;
        }
    }
    UTF_8
}

/// Extracts the `charset` parameter of a `Content-Type`-like value
/// (`text/html; charset="ISO-8859-1"`). Also used for the `content` attribute of
/// `<meta http-equiv>`, which has the same shape.
fn charset_param(value: &str) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    let mut search_from = 0;
    while let Some(found) = lower[search_from..].find("charset") {
        let after = search_from + found + "charset".len();
        let rest = lower[after..].trim_start();
        if let Some(rest) = rest.strip_prefix('=') {
            let rest = rest.trim_start();
            let label = match rest.chars().next() {
                Some(quote @ ('"' | '\'')) => rest[1..].split(quote).next().unwrap_or(""),
                _ => rest
                    .split(|c: char| c == ';' || c.is_ascii_whitespace())
                    .next()
                    .unwrap_or(""),
            };
            let label = label.trim();
            return (!label.is_empty()).then(|| label.to_string());
        }
        search_from = after;
    }
    None
}

/// Looks for a charset declaration in `<meta>` tags, skipping comments, and stops at the
/// end of the head. Returns the first declaration that names a known encoding.
fn scan_meta(bytes: &[u8]) -> Option<&'static Encoding> {
    let mut pos = 0;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if rest.starts_with(b"<!--") {
            pos += find(&rest[4..], b"-->").map_or(rest.len(), |end| 4 + end + 3);
            continue;
        }
        if starts_with_ignore_case(rest, b"</head") || starts_with_ignore_case(rest, b"<body") {
            return None;
        }
        if starts_with_ignore_case(rest, b"<meta")
            && rest
                .get(5)
                .is_some_and(|b| b.is_ascii_whitespace() || *b == b'/')
        {
            let (attributes, consumed) = parse_attributes(&rest[5..]);
            if let Some(encoding) = meta_encoding(&attributes) {
                return Some(encoding);
            }
            pos += 5 + consumed;
            continue;
        }
        pos += 1;
    }
    None
}

fn meta_encoding(attributes: &[(String, String)]) -> Option<&'static Encoding> {
    let get = |name: &str| {
        attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let label = match get("charset") {
        Some(label) => Some(label.trim().to_string()),
        None if get("http-equiv")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("content-type")) =>
        {
            get("content").and_then(charset_param)
        }
        None => None,
    }?;
    let encoding = Encoding::for_label(label.as_bytes())?;
    Some(
        if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
            UTF_8
        } else if encoding == encoding_rs::X_USER_DEFINED {
            WINDOWS_1252
        } else {
            encoding
        },
    )
}

/// Parses `name=value` attributes up to the closing `>`; returns them (names lowercased)
/// and the number of bytes consumed. Tolerant of the sloppy markup found in the wild:
/// unquoted values, missing values, stray slashes.
fn parse_attributes(bytes: &[u8]) -> (Vec<(String, String)>, usize) {
    let mut attributes = Vec::new();
    let mut pos = 0;
    let skip_ws = |pos: &mut usize| {
        while bytes
            .get(*pos)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b'/')
        {
            *pos += 1;
        }
    };
    loop {
        skip_ws(&mut pos);
        match bytes.get(pos) {
            None => return (attributes, pos),
            Some(b'>') => return (attributes, pos + 1),
            Some(_) => {}
        }
        let name_start = pos;
        while bytes
            .get(pos)
            .is_some_and(|b| !b.is_ascii_whitespace() && !matches!(b, b'=' | b'>' | b'/'))
        {
            pos += 1;
        }
        let name = String::from_utf8_lossy(&bytes[name_start..pos]).to_ascii_lowercase();
        while bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
            pos += 1;
        }
        let mut value = String::new();
        if bytes.get(pos) == Some(&b'=') {
            pos += 1;
            while bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
                pos += 1;
            }
            match bytes.get(pos) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let start = pos + 1;
                    let end = bytes[start..]
                        .iter()
                        .position(|b| *b == quote)
                        .map_or(bytes.len(), |i| start + i);
                    value = String::from_utf8_lossy(&bytes[start..end]).into_owned();
                    pos = (end + 1).min(bytes.len());
                }
                _ => {
                    let start = pos;
                    while bytes
                        .get(pos)
                        .is_some_and(|b| !b.is_ascii_whitespace() && *b != b'>')
                    {
                        pos += 1;
                    }
                    value = String::from_utf8_lossy(&bytes[start..pos]).into_owned();
                }
            }
        }
        if !name.is_empty() {
            attributes.push((name, value));
        }
    }
}

fn starts_with_ignore_case(haystack: &[u8], prefix: &[u8]) -> bool {
    haystack.len() >= prefix.len() && haystack[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/src/pipeline/fetch/testdata/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
    }

    #[test]
    fn header_charset_iso_8859_1_decodes_as_windows_1252() {
        let (text, enc) = decode(
            b"caf\xe9 \x92quoted\x92",
            Some("text/html; charset=ISO-8859-1"),
        );
        assert_eq!(enc, WINDOWS_1252);
        assert_eq!(text, "café ’quoted’");
    }

    #[test]
    fn quoted_header_charset_is_unquoted() {
        assert_eq!(
            detect(b"", Some("text/html; charset=\"windows-1251\"")),
            encoding_rs::WINDOWS_1251
        );
    }

    #[test]
    fn bom_wins_over_header() {
        let (text, enc) = decode(
            b"\xef\xbb\xbfcaf\xc3\xa9",
            Some("text/html; charset=iso-8859-1"),
        );
        assert_eq!(enc, UTF_8);
        assert_eq!(text, "café");
    }

    #[test]
    fn utf16le_bom_is_detected() {
        let (text, enc) = decode(b"\xff\xfeh\0i\0", None);
        assert_eq!(enc, encoding_rs::UTF_16LE);
        assert_eq!(text, "hi");
    }

    #[test]
    fn header_wins_over_meta() {
        let body = b"<meta charset=\"windows-1252\"><p>caf\xc3\xa9";
        let (text, enc) = decode(body, Some("text/html; charset=utf-8"));
        assert_eq!(enc, UTF_8);
        assert!(text.ends_with("café"));
    }

    #[test]
    fn meta_charset_early() {
        let (text, enc) = decode(
            &fixture("windows-1252-meta-charset.html"),
            Some("text/html"),
        );
        assert_eq!(enc, WINDOWS_1252);
        assert!(text.contains("We don’t sell your données"), "{text}");
    }

    #[test]
    fn meta_http_equiv_content_type() {
        let (text, enc) = decode(&fixture("iso-8859-1-meta-http-equiv.html"), None);
        assert_eq!(enc, WINDOWS_1252);
        assert!(text.contains("Politique de confidentialité"), "{text}");
    }

    #[test]
    fn meta_after_1024_bytes_is_still_found() {
        let body = fixture("iso-8859-1-meta-after-1024.html");
        let meta_at = find(&body, b"<meta charset").expect("fixture has a meta tag");
        assert!(
            meta_at > EARLY_META_SCAN_LIMIT,
            "fixture must put the meta late"
        );
        let (text, enc) = decode(&body, Some("text/html"));
        assert_eq!(enc, WINDOWS_1252);
        assert!(text.contains("Données personnelles"), "{text}");
    }

    #[test]
    fn meta_in_body_is_ignored() {
        let body = b"<html><head></head><body><meta charset=windows-1252>caf\xc3\xa9";
        assert_eq!(detect(body, None), UTF_8);
    }

    #[test]
    fn meta_inside_comment_is_ignored() {
        let body = b"<!-- <meta charset=\"koi8-r\"> --><meta charset='windows-1250'>";
        assert_eq!(detect(body, None), encoding_rs::WINDOWS_1250);
    }

    #[test]
    fn meta_utf16_means_utf8() {
        assert_eq!(detect(b"<meta charset=utf-16>", None), UTF_8);
    }

    #[test]
    fn unknown_labels_fall_through_to_default() {
        let body = b"<meta charset=\"no-such-charset\">";
        assert_eq!(detect(body, Some("text/html; charset=bogus")), UTF_8);
    }

    #[test]
    fn malformed_bytes_become_replacement_characters() {
        let (text, enc) = decode(b"ok \xff end", None);
        assert_eq!(enc, UTF_8);
        assert_eq!(text, "ok \u{fffd} end");
    }

    #[test]
    fn charset_param_variants() {
        assert_eq!(
            charset_param("text/html;charset=UTF-8").as_deref(),
            Some("utf-8")
        );
        assert_eq!(
            charset_param("text/html; charset = 'latin1' ").as_deref(),
            Some("latin1")
        );
        assert_eq!(charset_param("text/html; charset=").as_deref(), None);
        assert_eq!(charset_param("text/html").as_deref(), None);
    }
}
