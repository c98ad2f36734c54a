use super::*;
use crate::domain::FailureClass;
use crate::pipeline::fetch::decode;
use crate::pipeline::observe::{observe, observe_bytes, Body, ObserveRules};

fn testdata(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/pipeline/content/testdata")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn rules() -> ObserveRules {
    let mut r = ObserveRules::ad_hoc(vec!["main".into()], vec![]);
    r.extract.min_chars = 100;
    r
}

/// Observes a test file as if it had been fetched with `content_type`.
fn observe_file(
    name: &str,
    content_type: Option<&str>,
    baseline: Option<Baseline>,
) -> Result<crate::pipeline::observe::Observation, crate::pipeline::observe::Failure> {
    let source = format!("https://example.test/{name}");
    observe_bytes(&testdata(name), &source, content_type, &rules(), baseline)
}

#[test]
fn binary_bodies_are_unexpected_content_whatever_they_are_served_as() {
    for (name, content_type) in [
        ("pdf-served-as-html.bin", Some("text/html; charset=utf-8")),
        ("pdf-served-as-html.bin", None),
        ("png-served-as-html.png", Some("text/html")),
        ("jpeg-served-as-text-plain.jpg", Some("text/plain")),
        (
            "gzip-body-without-content-encoding.bin",
            Some("text/html; charset=utf-8"),
        ),
        (
            "docx-served-as-octet-stream.bin",
            Some("application/octet-stream"),
        ),
    ] {
        let f = observe_file(name, content_type, None).expect_err(name);
        assert_eq!(f.class, FailureClass::UnexpectedContent, "{name}: {f}");
        assert!(
            f.error
                .starts_with(&format!("https://example.test/{name}: ")),
            "the error names the URL: {}",
            f.error
        );
    }
    let f = observe_file("pdf-served-as-html.bin", Some("text/html"), None).unwrap_err();
    assert!(f.error.contains("a PDF document"), "{}", f.error);
}

#[test]
fn a_binary_content_type_is_unexpected_even_with_a_text_body() {
    for ct in [
        "application/pdf",
        "image/png",
        "image/svg+xml",
        "audio/mpeg",
        "video/mp4",
        "font/woff2",
        "application/zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ] {
        let f = observe_file("html-served-as-octet-stream.html", Some(ct), None).unwrap_err();
        assert_eq!(f.class, FailureClass::UnexpectedContent, "{ct}: {f}");
        assert!(f.error.contains(ct), "{ct}: {}", f.error);
    }
}

#[test]
fn text_policies_are_not_unexpected_content() {
    // A storage service's default type on a real page, UTF-16 with its NUL
    // bytes, Latin-1 declared as such: all the policy.
    for (name, content_type) in [
        (
            "html-served-as-octet-stream.html",
            Some("application/octet-stream"),
        ),
        ("utf16le-bom-policy.html", Some("text/html")),
        ("latin1-page-declared-latin1.html", Some("text/html")),
        (
            "windows-1252-policy-with-rare-pairs.html",
            Some("text/html; charset=windows-1252"),
        ),
    ] {
        let o = observe_file(name, content_type, None)
            .unwrap_or_else(|f| panic!("{name} is a policy: {f}"));
        assert!(o.clauses.len() >= 5, "{name}: {} clauses", o.clauses.len());
    }
    let o = observe_file("utf16le-bom-policy.html", None, None).unwrap();
    assert!(o.clauses.iter().any(|c| c.text.contains("don’t sell")));
}

#[test]
fn nul_bytes_and_control_characters_mean_binary() {
    let mut body = b"<html><body><main>".to_vec();
    body.extend_from_slice(&[0u8; 4]);
    let p = inspect_body(&body, "", Some("text/html"), Some("UTF-8")).unwrap();
    assert!(p.reason().contains("4 NUL bytes"), "{}", p.reason());
    // Random-looking bytes without NULs: control characters.
    let noisy: Vec<u8> = (0..1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1)
        .collect();
    let p = inspect_body(&noisy, "", None, Some("windows-1252")).unwrap();
    assert_eq!(p.class(), FailureClass::UnexpectedContent);
    // A form feed, tabs and CRLF are text.
    let text = "<p>Privacy</p>\r\n\t\x0c<p>We collect nothing.</p>";
    assert_eq!(
        inspect_body(text.as_bytes(), text, Some("text/html"), Some("UTF-8")),
        None
    );
}

#[test]
fn webp_zip_gif_and_zstd_magic_are_recognized() {
    let mut webp = b"RIFF\x24\x00\x00\x00WEBPVP8 ".to_vec();
    webp.extend_from_slice(b"abc");
    for (bytes, what) in [
        (webp.as_slice(), "WebP"),
        (b"GIF89a\x01\x00\x01\x00".as_slice(), "GIF"),
        (b"PK\x03\x04\x14\x00".as_slice(), "ZIP"),
        (b"\x28\xB5\x2F\xFDabc".as_slice(), "zstd"),
        (b"  \n%PDF-1.4\n".as_slice(), "PDF"),
    ] {
        let p = inspect_body(bytes, "", Some("text/html"), None).expect(what);
        assert!(p.reason().contains(what), "{what}: {}", p.reason());
    }
}

#[test]
fn utf8_pages_declared_latin1_are_bad_encoding() {
    for name in [
        "utf8-page-declared-latin1.html",
        "utf8-english-page-declared-windows-1252.html",
    ] {
        let f = observe_file(name, Some("text/html"), None).unwrap_err();
        assert_eq!(f.class, FailureClass::BadEncoding, "{name}: {f}");
        assert!(f.error.contains("decoded as windows-1252"), "{}", f.error);
        assert!(f.error.contains("valid UTF-8"), "{}", f.error);
        // The same bytes with the right charset in the header are fine.
        let o = observe_file(name, Some("text/html; charset=utf-8"), None)
            .unwrap_or_else(|f| panic!("{name} as UTF-8: {f}"));
        assert!(!o.clauses.is_empty());
    }
}

#[test]
fn a_latin1_page_declared_utf8_is_bad_encoding() {
    let f = observe_file("latin1-page-declared-utf8.html", Some("text/html"), None).unwrap_err();
    assert_eq!(f.class, FailureClass::BadEncoding, "{f}");
    assert!(f.error.contains("U+FFFD"), "{}", f.error);
    let o = observe_file(
        "latin1-page-declared-utf8.html",
        Some("text/html; charset=iso-8859-1"),
        None,
    )
    .unwrap();
    assert!(o.clauses.iter().any(|c| c.text.contains("Données")));
}

/// The clauses a test file gives when decoded with `content_type`, the
/// bad-encoding check left out (the text is said to be UTF-8).
fn clauses_of(name: &str, content_type: &str) -> Vec<Clause> {
    let bytes = testdata(name);
    let (text, _) = decode(&bytes, Some(content_type));
    observe(
        &Body {
            encoding: Some("UTF-8"),
            ..Body::stored(&text, "p.html", Some("text/html"))
        },
        &ObserveRules::ad_hoc(vec!["main".into()], vec![]),
        None,
    )
    .unwrap()
    .clauses
}

#[test]
fn a_baseline_with_the_same_characters_lets_them_pass() {
    // A site whose own text is mis-encoded (or full of such sequences) has
    // a baseline that carries them: the same text decoded the same way
    // again is no bad encoding, though it would be without a baseline.
    let mis = clauses_of(
        "utf8-page-declared-latin1.html",
        "text/html; charset=windows-1252",
    );
    let baseline = Baseline::of(&mis);
    assert!(baseline.suspicious_chars >= 30, "{baseline:?}");
    assert!(inspect_decoding(&mis, Some("windows-1252"), None, None).is_some());
    assert_eq!(
        inspect_decoding(&mis, Some("windows-1252"), None, Some(baseline)),
        None
    );
    // A clean baseline keeps the verdict.
    let good = clauses_of("utf8-page-declared-latin1.html", "text/html; charset=utf-8");
    let clean = Baseline::of(&good);
    assert_eq!(clean.suspicious_chars, 0);
    let p = inspect_decoding(&mis, Some("windows-1252"), None, Some(clean)).unwrap();
    assert!(p.reason().contains("last good version"), "{}", p.reason());
}

#[test]
fn thresholds_tolerate_a_few_suspicious_characters() {
    let clause = |text: &str| {
        Clause::new(
            0,
            crate::pipeline::extract::ClauseKind::Paragraph,
            String::new(),
            text.to_string(),
            None,
            crate::pipeline::clauses::ClauseHash::of(text),
        )
    };
    let filler = "We collect your email address to provide the service. ".repeat(40);
    // Four stray replacement characters in 2,000 characters: below the
    // minimum count, whatever the density.
    let few = vec![clause(&format!("{filler}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"))];
    assert_eq!(inspect_decoding(&few, Some("UTF-8"), None, None), None);
    // Ten of them: above both the count and the density (about 4.5 per
    // thousand against 0.5).
    let many = vec![clause(&format!("{filler}{}", "caf\u{FFFD} ".repeat(10)))];
    let p = inspect_decoding(&many, Some("UTF-8"), None, None).unwrap();
    assert_eq!(p.class(), FailureClass::BadEncoding);
    // Ten in a text ten times longer: 0.45 per thousand, within the limit.
    let long = vec![clause(&format!(
        "{}{}",
        filler.repeat(10),
        "caf\u{FFFD} ".repeat(10)
    ))];
    assert_eq!(inspect_decoding(&long, Some("UTF-8"), None, None), None);
    // Mis-decoding sequences in a text decoded as UTF-8 are what the site
    // wrote: no other charset would read them better.
    let double = vec![clause(&format!("{filler}{}", "cafÃ© ".repeat(20)))];
    assert_eq!(inspect_decoding(&double, Some("UTF-8"), None, None), None);
    assert!(inspect_decoding(&double, Some("windows-1252"), None, None).is_some());
}

#[test]
fn suspicious_sequences_are_the_usual_mis_decodings() {
    let utf8 = "café, l’été — “quoted”, à bientôt, naïve, 😀, ™, €";
    let (as_1252, _, _) = encoding_rs::WINDOWS_1252.decode(utf8.as_bytes());
    // é ×3, ’, —, “, ”, à, ô, ï, 😀, ™, € (one each); à → "Ã" + NBSP.
    assert_eq!(suspicious_count(&as_1252, true), 13, "{as_1252}");
    assert_eq!(suspicious_count(utf8, true), 0);
    // The non-breaking space after "Â" becomes a space once whitespace is
    // collapsed; it still counts.
    assert_eq!(suspicious_count("Effective: September Â 29", true), 1);
    // Portuguese capitals are no mis-decoding.
    assert_eq!(suspicious_count("NÃO COMPARTILHAMOS SÃO PAULO", true), 0);
    assert_eq!(suspicious_count("a \u{FFFD} b", false), 1);
}
