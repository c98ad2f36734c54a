//! Plain text to blocks.

use super::{BlockSink, ClauseKind, Extracted};

/// Extracts plain text: blank lines separate paragraphs; a line starting
/// with `- `, `* `, `• ` or a number and `. ` starts a list item, which
/// runs until the next item or a blank line.
pub fn extract_text(text: &str) -> Extracted {
    let mut sink = BlockSink::default();
    let mut current: Option<(ClauseKind, String)> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            if let Some((kind, body)) = current.take() {
                sink.push(kind, &body);
            }
            continue;
        }
        if let Some(item) = item_content(t) {
            if let Some((kind, body)) = current.take() {
                sink.push(kind, &body);
            }
            current = Some((ClauseKind::ListItem, item.to_string()));
            continue;
        }
        match &mut current {
            Some((_, body)) => {
                body.push(' ');
                body.push_str(t);
            }
            None => current = Some((ClauseKind::Paragraph, t.to_string())),
        }
    }
    if let Some((kind, body)) = current {
        sink.push(kind, &body);
    }
    sink.finish()
}

fn item_content(t: &str) -> Option<&str> {
    for bullet in ["- ", "* ", "• "] {
        if let Some(rest) = t.strip_prefix(bullet) {
            return Some(rest);
        }
    }
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    if (1..=3).contains(&digits) {
        return t[digits..].strip_prefix(". ");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_and_items() {
        let ex = extract_text("First para\nwrapped.\n\n- one\n- two\n  more\n1. three\n\nLast.");
        let got: Vec<(ClauseKind, &str)> = ex
            .blocks
            .iter()
            .map(|b| (b.kind, b.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (ClauseKind::Paragraph, "First para wrapped."),
                (ClauseKind::ListItem, "one"),
                (ClauseKind::ListItem, "two more"),
                (ClauseKind::ListItem, "three"),
                (ClauseKind::Paragraph, "Last."),
            ]
        );
    }
}
