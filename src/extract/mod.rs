//! Extraction: HTML, Markdown or plain text in, structured blocks out.
