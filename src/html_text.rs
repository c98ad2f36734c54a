//! Plain text of the HTML a fediverse server renders a status as, for the
//! mention parser and for comparing a post with what the server stored.

use std::sync::LazyLock;

use regex::Regex;

static BREAK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)<br\s*/?>").expect("static regex"));
static PARAGRAPH_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)</p\s*>").expect("static regex"));

/// Tags dropped, entities decoded, `<br>` as a line break and the end of a
/// paragraph as a blank line (how servers render the blank lines of a post).
pub fn html_to_text(html: &str) -> String {
    // Breaks are replaced before parsing because the parsed tree's text has
    // no notion of line breaks.
    let with_breaks = BREAK.replace_all(html, "\n");
    let with_paragraphs = PARAGRAPH_END.replace_all(&with_breaks, "\n\n");
    let fragment = scraper::Html::parse_fragment(&with_paragraphs);
    let text: String = fragment.root_element().text().collect();
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_paragraphs_tags_and_entities() {
        assert_eq!(
            html_to_text(
                "<p>1/3 X changed <a href=\"https://x.com\">x.com</a> &amp; more<br />next</p>"
            ),
            "1/3 X changed x.com & more\nnext"
        );
        assert_eq!(
            html_to_text("<p>a<BR>b</p><P>c &quot;d&quot; &#39;e&#39;</P >"),
            "a\nb\n\nc \"d\" 'e'"
        );
    }
}
